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

/** The watchdog's loop: poll the runner; when it is gone, stop what is left of its processes, gently then firmly. */
async function watch(runner: number, owner: string): Promise<void> {
  while (isAlive(runner)) await sleep(200);
  // After a clean stop nothing is left, and the watchdog is gone at once.
  const left = markedProcesses(owner);
  for (const { pid } of left) signal(pid, 'SIGTERM');
  const deadline = Date.now() + 3000;
  while (left.some(({ pid }) => isAlive(pid)) && Date.now() < deadline) await sleep(100);
  for (const { pid } of left.filter((info) => isAlive(info.pid))) signal(pid, 'SIGKILL');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

if (process.argv[1] === import.meta.filename) {
  const [runner, owner] = process.argv.slice(2);
  await watch(Number(runner), owner!);
}
