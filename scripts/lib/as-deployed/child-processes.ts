import { execFileSync } from 'node:child_process';

/** Process ids of this process's children whose command line contains `text` (pgrep: Linux and macOS). */
export function childProcessesRunning(text: string): number[] {
  try {
    const output = execFileSync('pgrep', ['-P', String(process.pid), '-f', text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')], { encoding: 'utf8' });
    return output.split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches.
  }
}

/**
 * Stops this process's children whose command line contains `text`, each with its process group
 * (SIGTERM, then SIGKILL after `graceMs`). For serving revisions a hosted bundle started: the bundle's
 * own composition root holds them, and this process cannot reach it to close them.
 */
export async function stopChildProcesses(text: string, graceMs = 10_000): Promise<void> {
  const pids = childProcessesRunning(text);
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  for (const pid of pids.filter(alive)) signal(pid, 'SIGKILL');
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(-pid, name); // Revisions lead their own process group.
  } catch {
    try {
      process.kill(pid, name);
    } catch {
      // Already gone.
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
