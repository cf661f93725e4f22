import { spawn, spawnSync } from 'node:child_process';
import { basename } from 'node:path';
import { type UnderTest, awaitQuiet, othersCores, snapshotUnderTest } from './cpu.js';
import { PINNED, onCore } from './processes.js';
import { monotonicMicros } from './profile.js';
import { BUSY_CORES } from './report.js';
import { type RuntimeFigures, runtimeDuring, scrapeRuntime } from './runtime.js';

/** The wrk script: POSTs a body file and prints the run as one JSON line. */
export const WRK_SCRIPT = 'scripts/bench/wrk/post.lua';

/** One wrk measurement; latencies in milliseconds, to the microsecond. */
export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  meanMs: number;
  requests: number;
  /** Connection errors, timeouts and non-2xx answers (status >= 400 unless responses were counted): a figure with any is flagged. */
  failures: number;
  errors: WrkErrors;
  /** Non-2xx answers, counted one by one when `countResponses` was set. */
  non2xx?: number;
  /** 2xx answers by the "version" their body named, when `countResponses` was set. */
  versions: Record<string, number>;
  /** CPU the rest of the machine used meanwhile, in cores (other people's work on a shared machine). */
  othersCores: number;
  /** Runs made: 2 when the first was taken on a busy machine and retried. */
  attempts: number;
  /** When the measured run started and ended, on the monotonic clock in µs (the one CPU profiles are stamped with). */
  window: { from: number; to: number };
  /** What the server's /metrics said held its JavaScript thread during the measured run, when `metricsUrl` was given. */
  runtime?: RuntimeFigures;
  command: string;
}

/** wrk's error counters: socket errors, statuses >= 400 and requests over its 2 s timeout. */
export interface WrkErrors {
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
}

/** Options of a load run. */
export interface LoadOptions {
  url: string;
  bodyFile: string;
  connections?: number;
  seconds?: number;
  /** A run of the same load before the measured one, discarded (JIT, connection set-up); 0 for none. */
  warmupSeconds?: number;
  /** Whose CPU is not counted as others': the servers' process groups, or the local platform. */
  underTest?: UnderTest;
  /** Extra request headers, `name: value`. */
  headers?: string[];
  /** Read every response: count non-2xx exactly and tally the versions answering (costs the load generator time). */
  countResponses?: boolean;
  /** Runs while the load runs; the run ends when it resolves (or after `seconds`, whichever is first). */
  during?: () => Promise<void>;
  /** The server's /metrics, read just before and after the measured run for its event-loop delay and GC pauses. */
  metricsUrl?: string;
}

interface WrkJson {
  requests: number;
  durationMicros: number;
  errors: WrkErrors;
  latencyMicros: { p50: number; p90: number; p99: number; p999: number; mean: number; max: number };
  non2xx: number | null;
  versions: Record<string, number>;
}

/** Fails with what to install when wrk is missing: the serving figures need its microsecond latencies. */
export function requireWrk(): void {
  if (spawnSync('wrk', ['-v']).error) throw new Error('wrk is not installed; the serving benchmarks use it as their load generator: `apt-get install wrk`');
}

/** wrk's version line, e.g. "debian/4.1.0-3+b2", or undefined when it is missing. */
export function wrkVersion(): string | undefined {
  const run = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  return run.error ? undefined : /^wrk (\S+)/m.exec(`${run.stdout}${run.stderr}`)?.[1];
}

/**
 * Runs wrk in its own process, on the load core (one thread, `connections` keep-alive connections):
 * waits for a quiet machine, warms up, then measures, counting what the rest of the machine used.
 */
export async function runLoad({
  url,
  bodyFile,
  connections = 32,
  seconds = 8,
  warmupSeconds = 2,
  underTest = { groups: [] },
  headers = [],
  countResponses = false,
  during,
  metricsUrl,
}: LoadOptions): Promise<LoadResult> {
  requireWrk();
  const args = (duration: number) => [
    ...['-t1', `-c${connections}`, `-d${duration}s`, '--latency', ...['content-type: application/json', ...headers].flatMap((header) => ['-H', header])],
    ...['-s', WRK_SCRIPT, url, '--', bodyFile, ...(countResponses ? ['count'] : [])],
  ];
  await awaitQuiet(underTest);
  if (warmupSeconds > 0) await wrk(args(warmupSeconds));
  const runtimeBefore = metricsUrl ? await scrapeRuntime(metricsUrl) : undefined;
  const before = snapshotUnderTest(underTest);
  const from = monotonicMicros();
  const result = await wrk(args(seconds), during);
  const window = { from, to: monotonicMicros() };
  const others = othersCores(before, snapshotUnderTest(underTest));
  const runtime = metricsUrl && runtimeBefore ? runtimeDuring(runtimeBefore, await scrapeRuntime(metricsUrl), (window.to - window.from) / 1e6) : undefined;
  const { errors, latencyMicros: latency } = result;
  const failed = result.non2xx ?? errors.status;
  return {
    requestsPerSecond: result.requests / (result.durationMicros / 1e6),
    ...{ p50Ms: latency.p50 / 1000, p90Ms: latency.p90 / 1000, p99Ms: latency.p99 / 1000, p999Ms: latency.p999 / 1000, meanMs: latency.mean / 1000 },
    requests: result.requests,
    failures: errors.connect + errors.read + errors.write + errors.timeout + failed,
    errors,
    ...(result.non2xx === null ? {} : { non2xx: result.non2xx }),
    versions: result.versions,
    othersCores: others,
    attempts: 1,
    window,
    ...(runtime ? { runtime } : {}),
    command: shownLoad(args(seconds), warmupSeconds),
  };
}

/**
 * A load run whose figure feeds a target: taken again, once, when the rest of the machine used more
 * than BUSY_CORES meanwhile. The quieter of the two is kept; if both were busy its target says so.
 */
export async function runSteadyLoad(options: LoadOptions): Promise<LoadResult> {
  const first = await runLoad(options);
  if (first.othersCores <= BUSY_CORES) return first;
  const second = await runLoad({ ...options, warmupSeconds: 0 });
  // The command shown is the first run's: the retry is the same load without its warm-up.
  return { ...(second.othersCores < first.othersCores ? second : first), attempts: 2, command: first.command };
}

function wrk(args: string[], during?: () => Promise<void>): Promise<WrkJson> {
  return new Promise((resolve, reject) => {
    const [command, commandArgs] = onCore(1, 'wrk', args);
    // taskset execs wrk, so the pid is wrk's: SIGINT makes it stop and report what it measured so far.
    const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as WrkJson);
      else reject(new Error(`wrk exited with ${code}: ${err || out}`));
    });
    during?.().then(
      () => child.kill('SIGINT'),
      (error: Error) => {
        child.kill('SIGINT');
        reject(error);
      },
    );
  });
}

/** The measured run's command as BENCHMARKS.md prints it: the port and the body file's folder as placeholders. */
function shownLoad(args: string[], warmupSeconds: number): string {
  const shown = args.map((arg) => (arg.includes(' ') ? `'${arg}'` : arg.startsWith('/') ? basename(arg) : arg.replace(/127\.0\.0\.1:\d+/, '127.0.0.1:$PORT')));
  const warmup = warmupSeconds > 0 ? ` (after the same for ${warmupSeconds} s, discarded)` : '';
  return `${PINNED ? 'taskset -c 1 ' : ''}wrk ${shown.join(' ')}${warmup}`;
}
