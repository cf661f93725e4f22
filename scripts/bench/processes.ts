import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { type ManagedProcess, freePort, startProcess, waitForHttp } from '../../shared/processes/index.js';
import { ENV } from '../../shared/config/env.js';
import { awaitQuiet, cpuSnapshot, othersCores, ownPids } from './cpu.js';

/** Variables worth printing in a reproduce command: the ones a reader would set by hand. */
const SHOWN_ENV = new RegExp(`^(PORT|${ENV.serveModel}|${ENV.serveVersion}|BENCH_\\w+)$`);

/** A server under test, in its own process group. */
export interface Target {
  name: string;
  url: string;
  port: number;
  /** The command that started it, for BENCHMARKS.md. */
  command: string;
  /** Its last output lines. */
  output(): string[];
  process: ManagedProcess;
  stop(): Promise<void>;
}

/** Options of startTarget. */
export interface TargetOptions {
  name: string;
  /** Arguments to `node`; `{port}` is replaced by the chosen port. */
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Extra node flags (e.g. --cpu-prof) kept out of the printed command. */
  nodeFlags?: string[];
  readyPath?: string;
  timeoutMs?: number;
  /** Run on the server's core (default); false lets the scheduler place it. */
  pin?: boolean;
}

const live = new Set<ManagedProcess>();

/**
 * The server under test gets core 0 and the load generator core 1 (a 1-vCPU serving instance with
 * its clients elsewhere), when the machine has two cores and taskset: far steadier figures than
 * letting the scheduler move both around.
 */
export const PINNED = cpus().length >= 2 && spawnSync('taskset', ['-V']).status === 0;

function onCore(core: number | undefined, command: string, args: string[]): [string, string[]] {
  return PINNED && core !== undefined ? ['taskset', ['-c', String(core), command, ...args]] : [command, args];
}

/** Stops every target still running: for an interrupted run. */
export async function stopAllTargets(): Promise<void> {
  await Promise.all([...live].map((managed) => managed.stop()));
}

/** Starts `node <args>` on a free port and waits until `readyPath` answers 2xx. */
export async function startTarget({
  name,
  args,
  env = {},
  nodeFlags = [],
  readyPath = '/health',
  timeoutMs = 60_000,
  pin = true,
}: TargetOptions): Promise<Target> {
  const port = await freePort();
  const resolved = args.map((arg) => arg.replaceAll('{port}', String(port)));
  const fullEnv = { ...process.env, NODE_ENV: 'production', ...env, PORT: String(port), HOST: '127.0.0.1' };
  const logTail: string[] = [];
  const [command, commandArgs] = onCore(pin ? 0 : undefined, process.execPath, [...nodeFlags, ...resolved]);
  const managed = startProcess(name, command, commandArgs, { env: fullEnv, logTail });
  live.add(managed);
  managed.child.once('exit', () => live.delete(managed));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${url}${readyPath}`, { process: managed, timeoutMs });
  } catch (error) {
    await managed.stop();
    throw new Error(`${name} did not start: ${(error as Error).message}\n${logTail.join('\n')}`);
  }
  const shown = Object.entries({ ...env, PORT: String(port) })
    .filter(([key]) => SHOWN_ENV.test(key))
    .map(([key, value]) => `${key}=${value}`);
  return {
    name,
    url,
    port,
    command: [...shown, ...(PINNED && pin ? ['taskset', '-c', '0'] : []), 'node', ...resolved].join(' '),
    output: () => [...logTail],
    process: managed,
    stop: () => managed.stop(15_000),
  };
}

/** One autocannon measurement. */
export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  requests: number;
  /** Non-2xx answers, errors and timeouts: a figure with any is flagged. */
  failures: number;
  /** CPU the rest of the machine used meanwhile, in cores (other people's work on a shared machine). */
  othersCores: number;
  command: string;
}

/** Options of a load run. */
export interface LoadOptions {
  url: string;
  bodyFile: string;
  connections?: number;
  seconds?: number;
  warmupSeconds?: number;
  /** Process groups under test (server, emulator): their CPU is not counted as others'. */
  groups?: number[];
}

const require = createRequire(import.meta.url);
const AUTOCANNON = require.resolve('autocannon/autocannon.js');

/**
 * Runs autocannon in its own process (so it never shares an event loop with the server or the
 * runner): POSTs `bodyFile` as JSON over `connections` keep-alive connections, after a warm-up.
 */
export async function runLoad({ url, bodyFile, connections = 32, seconds = 10, warmupSeconds = 2, groups = [] }: LoadOptions): Promise<LoadResult> {
  const args = ['-c', String(connections), '-d', String(seconds), '-W', '[', '-c', String(connections), '-d', String(warmupSeconds), ']'];
  args.push('-m', 'POST', '-H', 'content-type=application/json', '-i', bodyFile, '-j', url);
  await awaitQuiet(groups);
  const pids = ownPids(groups);
  const before = cpuSnapshot(pids);
  const stdout = await new Promise<string>((resolve, reject) => {
    const [command, commandArgs] = onCore(1, process.execPath, [AUTOCANNON, ...args]);
    const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`autocannon exited with ${code}: ${err}`))));
  });
  const others = othersCores(before, cpuSnapshot(pids));
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as AutocannonJson;
  return {
    requestsPerSecond: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    meanMs: result.latency.mean,
    requests: result.requests.total,
    failures: result.non2xx + result.errors + result.timeouts,
    othersCores: others,
    command: `${PINNED ? 'taskset -c 1 ' : ''}npx autocannon ${args.map((arg) => (/[[\]]/.test(arg) ? `'${arg}'` : arg)).join(' ')}`,
  };
}

interface AutocannonJson {
  duration: number;
  requests: { total: number; average: number };
  latency: { p50: number; p99: number; mean: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** A server command as BENCHMARKS.md prints it: free ports (different every run) as placeholders. */
export function shownCommand(command: string): string {
  return command
    .replace(/\bPORT=\d+ /g, '')
    .replace(/--port=\d+/g, '--port=$PORT')
    .replace(/BENCH_UPSTREAM_PORT=\d+/g, 'BENCH_UPSTREAM_PORT=<port of the serve process>');
}
