import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { type ManagedProcess, freePort, startProcess, waitForHttp } from '../../shared/processes/index.js';
import { ENV } from '../../shared/config/env.js';
import { descendantPids, ownPids } from './cpu.js';

/** Variables worth printing in a reproduce command: the ones a reader would set by hand. */
const SHOWN_ENV = new RegExp(`^(PORT|${ENV.serveModel}|${ENV.serveVersion}|${ENV.apiKeyHashes}|BENCH_\\w+)$`);

/** A server under test, in its own process group. */
export interface Target {
  name: string;
  url: string;
  port: number;
  /** The command that started it, for BENCHMARKS.md. */
  command: string;
  /** Its last output lines. */
  output(): string[];
  process: ManagedProcess;
  stop(): Promise<void>;
}

/** Options of startTarget. */
export interface TargetOptions {
  name: string;
  /** Arguments to `command`; `{port}` is replaced by the chosen port. */
  args: string[];
  /** The program to run: `node` (this one) by default. */
  command?: string;
  env?: NodeJS.ProcessEnv;
  /** Extra node flags (e.g. --cpu-prof) kept out of the printed command. */
  nodeFlags?: string[];
  readyPath?: string;
  timeoutMs?: number;
  /** Run on the server's core (default); false lets the scheduler place it. */
  pin?: boolean;
}

const live = new Set<ManagedProcess>();

/**
 * The server under test gets core 0 and the load generator core 1 (a 1-vCPU serving instance with
 * its clients elsewhere), when the machine has two cores and taskset: far steadier figures than
 * letting the scheduler move both around.
 */
export const PINNED = cpus().length >= 2 && spawnSync('taskset', ['-V']).status === 0;

/** `command args`, run on `core` when pinning is possible. */
export function onCore(core: number | undefined, command: string, args: string[]): [string, string[]] {
  return PINNED && core !== undefined ? ['taskset', ['-c', String(core), command, ...args]] : [command, args];
}

/**
 * Pins the processes of `groups` (every thread) to the load generator's core: for the emulators that
 * stand in for Google's services, which in the cloud run on other machines than the serving instance.
 */
export function pinToLoadCore(groups: number[]): void {
  if (!PINNED) return;
  for (const pid of ownPids(groups).filter((candidate) => candidate !== process.pid))
    spawnSync('taskset', ['-a', '-p', '-c', '1', String(pid)], { stdio: 'ignore' });
}

/** Stops every target still running: for an interrupted run. */
export async function stopAllTargets(): Promise<void> {
  await Promise.all([...live].map((managed) => managed.stop()));
}

/** Starts `node <args>` (or `command <args>`) on a free port and waits until `readyPath` answers 2xx. */
export async function startTarget({
  name,
  args,
  command: program = process.execPath,
  env = {},
  nodeFlags = [],
  readyPath = '/health',
  timeoutMs = 60_000,
  pin = true,
}: TargetOptions): Promise<Target> {
  const port = await freePort();
  const resolved = args.map((arg) => arg.replaceAll('{port}', String(port)));
  const fullEnv = { ...process.env, NODE_ENV: 'production', ...env, PORT: String(port), HOST: '127.0.0.1' };
  const logTail: string[] = [];
  const [command, commandArgs] = onCore(pin ? 0 : undefined, program, [...nodeFlags, ...resolved]);
  const managed = startProcess(name, command, commandArgs, { env: fullEnv, logTail });
  live.add(managed);
  managed.child.once('exit', () => live.delete(managed));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}${readyPath}`, { process: managed, timeoutMs });
  } catch (error) {
    await managed.stop();
    throw new Error(`${name} did not start: ${(error as Error).message}\n${logTail.join('\n')}`);
  }
  const shown = Object.entries({ ...env, PORT: String(port) })
    .filter(([key]) => SHOWN_ENV.test(key))
    .map(([key, value]) => `${key}=${value}`);
  return {
    name,
    url,
    port,
    command: [...shown, ...(PINNED && pin ? ['taskset', '-c', '0'] : []), program === process.execPath ? 'node' : program, ...resolved].join(' '),
    output: () => [...logTail],
    process: managed,
    stop: () => managed.stop(15_000),
  };
}

/** A server command as BENCHMARKS.md prints it: free ports (different every run) as placeholders. */
export function shownCommand(command: string): string {
  return command.replace(/\bPORT=\d+ /g, '').replace(/--port=\d+/g, '--port=$PORT');
}

/**
 * Pins every process this one started that serves `model` (its environment names it), other than
 * the targets started here, to the server's core as startTarget pins its servers: for the revisions
 * the local platform starts. Returns their pids.
 */
export function pinServingProcesses(model: string): number[] {
  const targets = new Set([...live].map((managed) => managed.child.pid));
  const serving = descendantPids().filter((pid) => !targets.has(pid) && environment(pid).includes(`${ENV.serveModel}=${model}`));
  if (PINNED) for (const pid of serving) spawnSync('taskset', ['-a', '-p', '-c', '0', String(pid)], { stdio: 'ignore' });
  return serving;
}

/** A variable of a running process's environment, as it was started. */
export function environmentValue(pid: number, name: string): string | undefined {
  return environment(pid)
    .find((entry) => entry.startsWith(`${name}=`))
    ?.slice(name.length + 1);
}

function environment(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return [];
  }
}
