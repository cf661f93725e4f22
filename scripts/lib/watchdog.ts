import { spawn } from 'node:child_process';
import { isAlive, markedProcesses, OWNER_VARIABLE, stopProcessGroups } from './process-table.js';

/**
 * Starts a watchdog for this runner: a detached process that, if the runner dies without stopping
 * what it started (SIGKILL, a crash), stops every process carrying its owner mark. It exits by itself
 * once the runner is gone and nothing marked is left.
 */
export function startWatchdog(owner: string): void {
  const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, String(process.pid), owner], {
    detached: true,
    stdio: 'ignore',
    // Not marked itself, or it would hunt itself.
    env: { ...process.env, [OWNER_VARIABLE]: '' },
  });
  child.unref();
}

/** The watchdog's loop: poll the runner; when it is gone, stop what is left of its processes, gently then firmly. */
async function watch(runner: number, owner: string): Promise<void> {
  while (isAlive(runner)) await new Promise((resolve) => setTimeout(resolve, 200));
  // After a clean stop nothing is left, and the watchdog is gone at once.
  await stopProcessGroups(
    markedProcesses(owner).map(({ pid }) => pid),
    3000,
  );
}

if (process.argv[1] === import.meta.filename) {
  const [runner, owner] = process.argv.slice(2);
  await watch(Number(runner), owner!);
}
