import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from './context.js';
import { type LoadResult, type Target, runLoad, startTarget } from './processes.js';

/** How the serving app is put on the network. */
export type EntryId = 'node-server' | 'functions-framework' | 'router' | 'bare-http';

/** The entries compared, as a reader would start them. */
export const ENTRIES: Record<'node-server' | 'functions-framework', { label: string; args: string[] }> = {
  'node-server': { label: '@hono/node-server (functions/serve/server.ts)', args: ['--import', 'tsx', 'functions/serve/server.ts'] },
  'functions-framework': {
    label: 'Functions Framework (functions/serve/index.ts)',
    args: ['--import', 'tsx', 'node_modules/.bin/functions-framework', '--target=serve', '--source=functions/serve/index.ts', '--port={port}'],
  },
};

/** The local router (a model's stable URL) forwarding to the @hono/node-server entry. */
export const ROUTER_LABEL = 'local router → @hono/node-server';

/** FastAPI + uvicorn + scikit-learn, one-row /predict, 32 connections: design.md's figure. */
export const FASTAPI_REQUESTS_PER_SECOND = 1900;

/** One request shape: a route and a body of `rows` rows. */
export interface Case {
  rows: number;
  path: string;
  bodyFile: string;
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
export async function startEntry(context: BenchContext, entry: keyof typeof ENTRIES, nodeFlags: string[] = []): Promise<Target> {
  const env = await context.servingEnv(await context.registered('small'));
  return startTarget({ name: entry, args: ENTRIES[entry].args, env, nodeFlags });
}

/** Sends the case once and returns the response size (the bare server answers the same size). */
export async function responseBytes(target: Target, { path, bodyFile }: Case): Promise<number> {
  const response = await fetch(`${target.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: readFileSync(bodyFile) });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${target.name} ${path} answered ${response.status}: ${text}`);
  return Buffer.byteLength(text);
}

/** Runs every case against a started target. */
export async function measureCases(
  context: BenchContext,
  entry: EntryId,
  target: Target,
  cases: Case[],
  sizes: number[],
  upstream: Target[] = [],
): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const [index, item] of cases.entries()) {
    const load = await runLoad({ url: `${target.url}${item.path}`, bodyFile: item.bodyFile, ...(await loadSettings(context, target, upstream)) });
    results.push({ ...load, entry, rows: item.rows, responseBytes: sizes[index]!, serverCommand: target.command });
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
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bench/targets/inference-loop.ts'], { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.on('data', (chunk) => (text += chunk));
      child.once('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`inference loop exited with ${code}`))));
    });
    return JSON.parse(output) as InferenceLimit;
  });
}

/** How the inference limit is measured, for BENCHMARKS.md. */
export const INFERENCE_LOOP_COMMAND = 'node --import tsx scripts/bench/targets/inference-loop.ts';

/** A fresh folder for one `--cpu-prof` run. */
export function profileDir(context: BenchContext, name: string): string {
  const dir = join(context.workDir, `profile-${name}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The run's load settings, watching the target's and the emulator's CPU as the system under test. */
export async function loadSettings(
  context: BenchContext,
  target: Target,
  upstream: Target[] = [],
): Promise<{ connections: number; seconds: number; warmupSeconds: number; groups: number[] }> {
  const { connections, seconds, warmupSeconds } = context.settings;
  const groups = [target, ...upstream].map((process) => process.process.child.pid!);
  return { connections, seconds, warmupSeconds, groups: [...groups, ...(await context.supportGroups())] };
}
