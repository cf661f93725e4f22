import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from './context.js';
import { type LoadResult, runLoad, runSteadyLoad } from './load.js';
import { type Target, startTarget } from './processes.js';

/** Every server a serving table may show. */
export type EntryId = 'node-server' | 'functions-framework' | 'api-keys' | 'stable-url' | 'platform-revision' | 'hand-written' | 'fastapi' | 'bare-http';

/** The serving entries compared, as a reader would start them. */
export const ENTRIES: Record<'node-server' | 'functions-framework', { label: string; args: string[] }> = {
  'node-server': { label: 'serving revision (functions/serve/server.ts)', args: ['--import', 'tsx', 'functions/serve/server.ts'] },
  'functions-framework': {
    label: 'Functions Framework (functions/serve/index.ts)',
    args: ['--import', 'tsx', 'node_modules/.bin/functions-framework', '--target=serve', '--source=functions/serve/index.ts', '--port={port}'],
  },
};

/** The entries that run the platform's serving app, so report their event-loop delay and GC pauses on /metrics. */
export const PLATFORM_ENTRIES = new Set<EntryId>(['node-server', 'functions-framework', 'api-keys', 'stable-url', 'platform-revision']);

/** One request shape: a route and a body of `rows` rows. */
export interface Case {
  rows: number;
  path: string;
  bodyFile: string;
  /** Extra request headers, `name: value`. */
  headers?: string[];
}

/** A measured case. */
export interface CaseResult extends LoadResult {
  entry: EntryId;
  rows: number;
  responseBytes: number;
  serverCommand: string;
}

/** session.run calls per second, and the same through the platform's ModelRunner adapter. */
export type InferenceLimit = Record<string, { sessionRun: number; modelRunner: number }>;

/** Starts a serving entry pinned to the small benchmark model, logging predictions to the serving emulator. */
export async function startEntry(context: BenchContext, entry: keyof typeof ENTRIES, nodeFlags: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Target> {
  const servingEnv = await context.servingEnv(await context.registered('small'));
  return startTarget({ name: entry, args: ENTRIES[entry].args, env: { ...servingEnv, ...env }, nodeFlags });
}

/** Sends the case once and returns the response size; throws unless it answers 200. */
export async function responseBytes(url: string, { path, bodyFile, headers = [] }: Case): Promise<number> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...Object.fromEntries(headers.map((header) => header.split(/:\s*/, 2) as [string, string])) },
    body: readFileSync(bodyFile),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${url}${path} answered ${response.status}: ${text}`);
  return Buffer.byteLength(text);
}

/** Runs every case against a started target; a case taken on a busy machine is taken again once. */
export async function measureCases(context: BenchContext, entry: EntryId, target: Target, cases: Case[]): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const item of cases) {
    const bytes = await responseBytes(target.url, item);
    const load = await runSteadyLoad({
      url: `${target.url}${item.path}`,
      bodyFile: item.bodyFile,
      headers: item.headers,
      ...(await loadSettings(context, target)),
      ...(PLATFORM_ENTRIES.has(entry) ? { metricsUrl: `${target.url}/metrics` } : {}),
    });
    results.push({ ...load, entry, rows: item.rows, responseBytes: bytes, serverCommand: target.command });
  }
  return results;
}

/** The HTTP limit for a response size: a bare node:http server under the same load and body. Measured once per size and moment per run. */
export function bareLimit(context: BenchContext, item: Case, bytes: number, moment: 'before' | 'after'): Promise<CaseResult> {
  return context.memo(`bare:${bytes}:${item.rows}:${moment}`, async () => {
    const target = await startTarget({
      name: 'bare-http',
      args: ['--import', 'tsx', 'scripts/bench/targets/bare-http.ts'],
      env: { BENCH_RESPONSE_BYTES: String(bytes) },
      readyPath: '/',
    });
    try {
      const load = await runLoad({ url: `${target.url}${item.path}`, bodyFile: item.bodyFile, ...(await loadSettings(context, target)) });
      return { ...load, entry: 'bare-http' as const, rows: item.rows, responseBytes: bytes, serverCommand: target.command };
    } finally {
      await target.stop();
    }
  });
}

/** The inference limit, measured once per run in a process of its own. */
export function inferenceLimit(context: BenchContext): Promise<InferenceLimit> {
  return context.memo('inference', async () => {
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench/targets/inference-loop.ts'], {
        env: { ...process.env, BENCH_LOOP_SECONDS: String(INFERENCE_LOOP_SECONDS) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let text = '';
      child.stdout.on('data', (chunk) => (text += chunk));
      child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`inference loop exited with ${code}`))));
    });
    return JSON.parse(output) as InferenceLimit;
  });
}

const INFERENCE_LOOP_SECONDS = 1;

/** How the inference limit is measured, for BENCHMARKS.md. */
export const INFERENCE_LOOP_COMMAND = `BENCH_LOOP_SECONDS=${INFERENCE_LOOP_SECONDS} node --import tsx scripts/bench/targets/inference-loop.ts`;

/** A fresh folder for one `--cpu-prof` run. */
export function profileDir(context: BenchContext, name: string): string {
  const dir = join(context.workDir, `profile-${name}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The run's load settings, counting the target's and the serving emulator's CPU as the system under test. */
export async function loadSettings(
  context: BenchContext,
  target: Target,
): Promise<{ connections: number; seconds: number; warmupSeconds: number; underTest: { groups: number[] } }> {
  const { connections, seconds, warmupSeconds } = context.settings;
  return { connections, seconds, warmupSeconds, underTest: { groups: [target.process.child.pid!, ...(await context.supportGroups())] } };
}
