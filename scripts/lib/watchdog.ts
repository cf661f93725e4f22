import { spawn } from 'node:child_process';
import { isAlive, markedProcesses } from './process-table.js';
import { signal } from './platform-lock.js';

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
    env: { ...process.env, MLOPS_PLATFORM_OWNER: '' },
  });
  child.unref();
}

/** The watchdog's loop: poll the runner; when it is gone, stop its processes, gently then firmly. */
async function watch(runner: number, owner: string): Promise<void> {
  while (isAlive(runner)) await new Promise((resolve) => setTimeout(resolve, 500));
  for (const { pid } of markedProcesses(owner)) signal(pid, 'SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 3000));
  for (const { pid } of markedProcesses(owner)) signal(pid, 'SIGKILL');
}

if (process.argv[1] === import.meta.filename) {
  const [runner, owner] = process.argv.slice(2);
  await watch(Number(runner), owner!);
}
