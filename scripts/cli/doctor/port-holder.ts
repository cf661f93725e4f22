import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { isAlive, listenerOf, ownerPid, processInfo } from '../../lib/process-table.js';

/** A process listening on a port: its PID, command line, and the local platform runner it belongs to, if any. */
export interface PortHolder {
  pid: number;
  command: string;
  /** PID of the `npm start` that started it, and whether that runner still lives. */
  runner?: { pid: number; alive: boolean };
}

/** True when this process can listen on 127.0.0.1:port, as the local runner will. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Who listens on a TCP port, from /proc (Linux), else from `ss -ltnp`; undefined when neither can tell. */
export function portHolder(port: number): PortHolder | undefined {
  const info = listenerOf(port) ?? processInfoOf(pidFromSs(port));
  if (!info) return undefined;
  const command = info.command.length > 100 ? `${info.command.slice(0, 97)}...` : info.command || '?';
  const runner = info.owner ? ownerPid(info.owner) : undefined;
  return { pid: info.pid, command, runner: runner === undefined ? undefined : { pid: runner, alive: isAlive(runner) } };
}

/** The command that frees a port its holder keeps. */
export function freeingCommand(holder: PortHolder): string {
  if (holder.runner?.alive) return `Ctrl-C the npm start running as PID ${holder.runner.pid} (or kill ${holder.runner.pid})`;
  if (holder.runner) return `npm start -- --clean-leftovers (a leftover of a platform whose runner, PID ${holder.runner.pid}, is gone)`;
  return `kill ${holder.pid}`;
}

function processInfoOf(pid: number | undefined) {
  return pid === undefined ? undefined : (processInfo(pid) ?? { pid, command: '?' });
}

function pidFromSs(port: number): number | undefined {
  try {
    const output = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8', timeout: 3000, stdio: ['ignore', 'pipe', 'ignore'] });
    const match = /pid=(\d+)/.exec(output);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
