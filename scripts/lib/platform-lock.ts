import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, markedProcesses, ownerPid, processInfo, stopProcessGroups } from './process-table.js';

/** The lock file a running platform keeps in its data folder. */
export const LOCK_FILE = 'platform.lock';

/** What the lock file holds. */
interface LockContent {
  pid: number;
  owner: string;
  startedAt: string;
}

/** A held lock on a data folder. */
export interface PlatformLock {
  /** The owner mark this platform's processes carry (see OWNER_VARIABLE). */
  owner: string;
  /** Set when the lock was taken over from a runner that had died. */
  tookOverFrom?: number;
  release(): void;
}

/**
 * Takes the data folder for this process, or fails saying which platform holds it. Nothing in the
 * folder may be touched (not even by --fresh) before this succeeds: another runner may still own it.
 */
export function acquirePlatformLock(dataDir: string, owner: string): PlatformLock {
  const path = join(dataDir, LOCK_FILE);
  const content: LockContent = { pid: process.pid, owner, startedAt: new Date().toISOString() };
  let tookOverFrom: number | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${JSON.stringify(content)}\n`, { flag: 'wx' });
      return { owner, tookOverFrom, release: () => releaseIfOurs(path, owner) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readLock(path);
    if (holder && isAlive(holder.pid) && holder.pid !== process.pid) {
      const command = processInfo(holder.pid)?.command ?? 'unknown command';
      throw new Error(
        `${dataDir} belongs to the local platform run by PID ${holder.pid} (${command.slice(0, 60)}), started ${holder.startedAt}. ` +
          'Stop it first (Ctrl-C in its terminal), or use another --data-dir. Nothing was changed.',
      );
    }
    tookOverFrom = holder?.pid;
    unlinkSync(path);
  }
  throw new Error(`Could not take ${path}: another platform is starting in the same folder.`);
}

function readLock(path: string): LockContent | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockContent;
  } catch {
    return undefined;
  }
}

function releaseIfOurs(path: string, owner: string): void {
  if (readLock(path)?.owner === owner) unlinkSync(path);
}

/**
 * Stops what dead runners left behind: every process carrying an owner mark whose runner is gone.
 * Resolves with what was stopped.
 */
export async function cleanLeftovers({ graceMs = 3000 } = {}): Promise<{ pid: number; command: string }[]> {
  const leftovers = markedProcesses().filter((info) => !isAlive(ownerPid(info.owner!)));
  await stopProcessGroups(
    leftovers.map(({ pid }) => pid),
    graceMs,
  );
  return leftovers.map(({ pid, command }) => ({ pid, command }));
}
