import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Self time of one function, or of one package, as a share of the time the process was busy. */
export interface ProfileEntry {
  name: string;
  /** Where it is: package, `node:` internal, or project file with line. */
  where: string;
  selfMs: number;
  share: number;
}

/** What a CPU profile says about where a server's time went. */
export interface ProfileSummary {
  /** Whether only the samples taken under load were counted (false: the whole process life). */
  windowed: boolean;
  busyMs: number;
  idleShare: number;
  gcShare: number;
  topFrames: ProfileEntry[];
  /** Every function, most self time first. */
  allFrames: ProfileEntry[];
  /** Every package, most self time first. */
  byPackage: ProfileEntry[];
}

/** The share of busy time spent in packages whose name matches. */
export function packageShare(summary: ProfileSummary, pattern: RegExp): number {
  return summary.byPackage.filter((entry) => pattern.test(entry.name)).reduce((sum, entry) => sum + entry.share, 0);
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** Reads the main-thread profile `node --cpu-prof` wrote to `dir` (thread 0, the largest). */
export function readMainThreadProfile(dir: string): CpuProfile {
  const files = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'));
  const main = files.filter((name) => name.split('.').at(-3) === '0');
  const chosen = (main.length > 0 ? main : files)
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as CpuProfile)
    .sort((a, b) => b.samples.length - a.samples.length)[0];
  if (!chosen) throw new Error(`No .cpuprofile in ${dir}: did the process exit cleanly?`);
  return chosen;
}

/** Monotonic clock in microseconds: the clock V8 stamps profile samples with on Linux. */
export const monotonicMicros = (): number => Number(process.hrtime.bigint() / 1000n);

/** Options of summariseProfile. */
export interface SummariseOptions {
  root?: string;
  top?: number;
  /** Count only samples taken within [from, to] (monotonicMicros), i.e. under load, not start-up. */
  window?: { from: number; to: number };
}

/** Sums self time per function and per package, leaving idle time out of the shares. */
export function summariseProfile(profile: CpuProfile, { root = process.cwd(), top = 12, window }: SummariseOptions = {}): ProfileSummary {
  let time = profile.startTime;
  const stamps = profile.timeDeltas.map((delta) => (time += delta));
  const inWindow = (index: number) => !window || (stamps[index]! >= window.from && stamps[index]! <= window.to);
  const windowed = window !== undefined && stamps.some((_, index) => inWindow(index));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const frames = new Map<string, ProfileEntry>();
  const packages = new Map<string, ProfileEntry>();
  let idleMs = 0;
  let gcMs = 0;
  let totalMs = 0;
  for (const [index, id] of profile.samples.entries()) {
    if (windowed && !inWindow(index)) continue;
    const ms = (profile.timeDeltas[index + 1] ?? 0) / 1000;
    const { functionName, url, lineNumber } = nodes.get(id)!.callFrame;
    totalMs += ms;
    if (functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    if (functionName === '(garbage collector)') gcMs += ms;
    const where = SPECIAL.has(functionName) ? '' : locationOf(url, lineNumber, root);
    add(frames, `${functionName || '(anonymous)'}\u0000${where}`, functionName || '(anonymous)', where, ms);
    const owner = SPECIAL.has(functionName) ? functionName : ownerOf(url, root);
    add(packages, owner, owner, '', ms);
  }
  const busyMs = totalMs - idleMs;
  const rank = (entries: Map<string, ProfileEntry>) =>
    [...entries.values()].map((entry) => ({ ...entry, share: entry.selfMs / busyMs })).sort((a, b) => b.selfMs - a.selfMs);
  return {
    windowed,
    busyMs,
    idleShare: idleMs / totalMs,
    gcShare: gcMs / busyMs,
    topFrames: rank(frames).slice(0, top),
    allFrames: rank(frames),
    byPackage: rank(packages),
  };
}

function add(entries: Map<string, ProfileEntry>, key: string, name: string, where: string, ms: number): void {
  const entry = entries.get(key) ?? { name, where, selfMs: 0, share: 0 };
  entry.selfMs += ms;
  entries.set(key, entry);
}

/** `express` for node_modules/express/..., `node:internal/...` for internals, project-relative paths otherwise. */
function ownerOf(url: string, root: string): string {
  if (url === '') return '(native or V8 builtin)';
  const inModules = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (inModules) return inModules[1]!;
  if (url.startsWith('node:internal/deps/')) return `${url.split('/')[2]} (node: core)`;
  if (url.startsWith('node:')) return `node: ${url.replace(/^node:(internal\/)?/, '').split('/')[0]}`;
  return relative(root, url.replace(/^file:\/\//, ''))
    .split('/')
    .slice(0, 2)
    .join('/');
}

function locationOf(url: string, lineNumber: number, root: string): string {
  if (url === '') return '';
  const inModules = url.match(/node_modules\/(.*)$/);
  const path = inModules ? inModules[1]! : url.startsWith('node:') ? url : relative(root, url.replace(/^file:\/\//, ''));
  return `${path}:${lineNumber + 1}`;
}
