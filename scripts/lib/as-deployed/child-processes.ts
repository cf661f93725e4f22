import { execFileSync } from 'node:child_process';
import { stopProcessGroups } from '../process-table.js';

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
  await stopProcessGroups(childProcessesRunning(text), graceMs);
}
