import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU counters (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU counters at one moment: the whole machine, and the processes under test. */
export interface CpuSnapshot {
  at: number;
  machineBusy: number;
  ours: number;
}

/** Busy ticks of the machine and of `pids` (each with all its threads) right now. */
export function cpuSnapshot(pids: number[]): CpuSnapshot {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
  const busy = fields.slice(0, 8).reduce((sum, value, index) => (index === 3 || index === 4 ? sum : sum + value), 0);
  return { at: performance.now(), machineBusy: busy, ours: pids.reduce((sum, pid) => sum + processTicks(pid), 0) };
}

/**
 * CPU the rest of the machine used between two snapshots, in cores: other people's work, which a
 * 2-core benchmark cannot absorb. Processes that ended meanwhile (e.g. the load generator) must be
 * passed as `extraTicks`.
 */
export function othersCores(before: CpuSnapshot, after: CpuSnapshot, extraTicks = 0): number {
  const seconds = (after.at - before.at) / 1000;
  const others = after.machineBusy - before.machineBusy - (after.ours - before.ours) - extraTicks;
  return Math.max(0, others / TICKS_PER_SECOND / seconds);
}

/** utime + stime + the reaped children's times of a process, in ticks; 0 once it is gone. */
export function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) start at state; utime is field 14.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  } catch {
    return 0;
  }
}

/** Every process in the given process groups (a managed process and its children), and this process. */
export function ownPids(groups: number[]): number[] {
  const pids = [process.pid];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const group = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (groups.includes(group)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

/** Waiting for quiet may cost a whole run this much at most, so it stays under its 10 minutes. */
let waitBudgetMs = 40_000;

/**
 * Waits, up to `maxWaitMs` (and what is left of the run's budget), until the rest of the machine
 * uses less than `cores` (sampled over half a second), so a load run starts on a quiet machine
 * when there is one. Resolves either way.
 */
export async function awaitQuiet(groups: number[], { maxWaitMs = 5_000, cores = 0.2 } = {}): Promise<void> {
  const started = performance.now();
  const deadline = started + Math.min(maxWaitMs, waitBudgetMs);
  try {
    do {
      const pids = ownPids(groups);
      const before = cpuSnapshot(pids);
      await new Promise((resolve) => setTimeout(resolve, 500));
      if (othersCores(before, cpuSnapshot(pids)) < cores) return;
    } while (performance.now() < deadline);
  } finally {
    waitBudgetMs = Math.max(0, waitBudgetMs - (performance.now() - started - 500));
  }
}
