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

/** utime + stime + the reaped children's times of a process, in ticks (or only its own, or only its children's); 0 once it is gone. */
export function processTicks(pid: number, part: 'all' | 'own' | 'children' = 'all'): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) start at state; utime is field 14.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const own = Number(fields[11]) + Number(fields[12]);
    const children = Number(fields[13]) + Number(fields[14]);
    return part === 'own' ? own : part === 'children' ? children : own + children;
  } catch {
    return 0;
  }
}

/** The processes a load run counts as its own: the rest of the machine's CPU is others'. */
export interface UnderTest {
  /** Process groups of the servers under test and their emulator. */
  groups: number[];
  /**
   * Also this process and everything it started: for a server the local platform runs (its router,
   * revisions and emulators). Otherwise only this process's reaped children (the load generator) count.
   */
  platform?: boolean;
}

/**
 * Busy ticks of the machine and of what is under test, right now. The processes are looked up at
 * each snapshot, so one started in between (a new revision) counts whole, and one that ended was
 * reaped into its parent's children's time. This process's own work (anything the runner does
 * meanwhile) is others' unless the platform is under test.
 */
export function snapshotUnderTest({ groups, platform = false }: UnderTest): CpuSnapshot {
  const servers = platform ? descendantPids() : ownPids(groups).filter((pid) => pid !== process.pid);
  const runner = processTicks(process.pid, platform ? 'all' : 'children');
  const snapshot = cpuSnapshot([]);
  return { ...snapshot, ours: runner + servers.reduce((sum, pid) => sum + processTicks(pid), 0) };
}

/** Every process this one started, directly or not. */
export function descendantPids(): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const found: number[] = [];
  const visit = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      visit(child);
    }
  };
  visit(process.pid);
  return found;
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
export async function awaitQuiet(groups: number[] | UnderTest, { maxWaitMs = 5_000, cores = 0.2 } = {}): Promise<void> {
  const started = performance.now();
  const deadline = started + Math.min(maxWaitMs, waitBudgetMs);
  const snapshot = Array.isArray(groups) ? () => cpuSnapshot(ownPids(groups)) : () => snapshotUnderTest(groups);
  try {
    do {
      const before = snapshot();
      await new Promise((resolve) => setTimeout(resolve, 500));
      if (othersCores(before, snapshot()) < cores) return;
    } while (performance.now() < deadline);
  } finally {
    waitBudgetMs = Math.max(0, waitBudgetMs - (performance.now() - started - 500));
  }
}
