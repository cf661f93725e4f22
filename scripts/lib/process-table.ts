import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { INTERNAL_ENV } from '../../shared/config/env.js';

/**
 * The variable every process a local platform starts inherits: `<runner pid>:<start time>`. It marks
 * the platform's emulators, revisions and helpers, so they can be found (and stopped) if the runner
 * dies without stopping them. Read from /proc, so Linux only; elsewhere nothing is found.
 */
export const OWNER_VARIABLE = INTERNAL_ENV.platformOwner;

/** A process as /proc shows it. */
export interface ProcessInfo {
  pid: number;
  command: string;
  /** The value of OWNER_VARIABLE in its environment, if any. */
  owner?: string;
}

/** True while a process with this PID exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Signals a process's group when it leads one (the platform starts children detached), else the process. */
export function signal(pid: number, name: NodeJS.Signals): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, name);
      return;
    } catch {
      // Not a group leader, or already gone.
    }
  }
}

/** Stops processes with their groups: SIGTERM, then SIGKILL for any still there after `graceMs`. */
export async function stopProcessGroups(pids: number[], graceMs: number): Promise<void> {
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  for (const pid of pids.filter(isAlive)) signal(pid, 'SIGKILL');
}

/** The runner PID an owner mark names. */
export function ownerPid(owner: string): number {
  return Number(owner.split(':')[0]);
}

/** What /proc tells of one process, or undefined when it is gone or unreadable. */
export function processInfo(pid: number): ProcessInfo | undefined {
  try {
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    const environment = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    const mark = environment.find((entry) => entry.startsWith(`${OWNER_VARIABLE}=`));
    return { pid, command, owner: mark?.slice(OWNER_VARIABLE.length + 1) };
  } catch {
    return undefined;
  }
}

/** Every process carrying a platform's owner mark (all platforms' when `owner` is omitted). */
export function markedProcesses(owner?: string): ProcessInfo[] {
  return pids()
    .filter((pid) => pid !== process.pid)
    .map(processInfo)
    .filter((info): info is ProcessInfo => info?.owner !== undefined && (owner === undefined || info.owner === owner));
}

/** The process listening on a TCP port of this machine, if /proc can tell. */
export function listenerOf(port: number): ProcessInfo | undefined {
  const inodes = new Set([...listeningInodes('/proc/net/tcp', port), ...listeningInodes('/proc/net/tcp6', port)]);
  if (inodes.size === 0) return undefined;
  for (const pid of pids()) {
    let descriptors: string[];
    try {
      descriptors = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const descriptor of descriptors) {
      const target = safeReadlink(`/proc/${pid}/fd/${descriptor}`);
      if (target && inodes.has(target.replace(/^socket:\[(\d+)\]$/, '$1'))) return processInfo(pid);
    }
  }
  return undefined;
}

/** Says who holds a busy port, and whether it is a leftover of a platform whose runner is gone. */
export function describeHolder(port: number): string {
  const holder = listenerOf(port);
  if (!holder) return 'by a process this user cannot see';
  const command = holder.command.length > 80 ? `${holder.command.slice(0, 77)}...` : holder.command;
  if (!holder.owner) return `by PID ${holder.pid} (${command}), not part of a local platform`;
  const runner = ownerPid(holder.owner);
  return isAlive(runner)
    ? `by PID ${holder.pid} (${command}) of the local platform run by PID ${runner}: stop that one first (Ctrl-C in its terminal, or kill ${runner})`
    : `by PID ${holder.pid} (${command}), a leftover of a local platform whose runner (PID ${runner}) is gone: run npm start -- --clean-leftovers`;
}

function pids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

function safeReadlink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** Socket inodes listening on `port` in one of /proc/net's tables (state 0A is LISTEN). */
function listeningInodes(table: string, port: number): string[] {
  let text: string;
  try {
    text = readFileSync(table, 'utf8');
  } catch {
    return [];
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return text
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A')
    .map((fields) => fields[9]!);
}
