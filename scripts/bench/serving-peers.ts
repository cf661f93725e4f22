import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ENV } from '../../shared/config/env.js';
import type { BenchContext } from './context.js';
import { CLASSIFIER } from './models.js';
import { type Target, startTarget } from './processes.js';
import { type Case, type CaseResult, type EntryId, measureCases, startEntry } from './serving-entries.js';

/** The Python the FastAPI peer runs on: Debian's, where `apt-get install python3-fastapi python3-uvicorn python3-sklearn` puts the packages. */
export const PEER_PYTHON = '/usr/bin/python3';

/** The peer's figure when it cannot be measured here: FastAPI + uvicorn + scikit-learn, one-row /predict, 32 connections, from design.md. */
export const FASTAPI_FALLBACK_REQUESTS_PER_SECOND = 1900;

/** The key the API-key case sends; the revision is given only its sha256, as a deploy would. */
const BENCH_API_KEY = 'bench-serving-key';

/**
 * The peer's package versions and what uvicorn runs on (uvloop and httptools when installed, else asyncio
 * and h11), e.g. "fastapi 0.92.0, uvicorn 0.17.6 (asyncio, h11), scikit-learn 1.2.1, Python 3.11.2";
 * undefined when the packages are missing.
 */
export function fastApiVersions(): string | undefined {
  const script = [
    'import importlib.util as u, sys, fastapi, uvicorn, sklearn',
    'loop = "uvloop" if u.find_spec("uvloop") else "asyncio"',
    'http = "httptools" if u.find_spec("httptools") else "h11"',
    'print(f"fastapi {fastapi.__version__}, uvicorn {uvicorn.__version__} ({loop}, {http}), scikit-learn {sklearn.__version__}, Python {sys.version.split()[0]}")',
  ].join('\n');
  const run = spawnSync(PEER_PYTHON, ['-c', script], { encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim() : undefined;
}

/** The hand-written minimum under the one-row case. */
export async function measureHandWritten(context: BenchContext, item: Case): Promise<CaseResult> {
  return measureAndStop(context, 'hand-written', await startHandWritten(), item);
}

/** The hand-written minimum, started and ready. */
export const startHandWritten = (): Promise<Target> =>
  startTarget({ name: 'hand-written', args: ['--import', 'tsx', 'scripts/bench/targets/hand-written.ts'] });

/** FastAPI + uvicorn + scikit-learn under the one-row case; undefined when its packages are not installed. */
export async function measureFastApi(context: BenchContext, item: Case): Promise<CaseResult | undefined> {
  const target = await startFastApi();
  return target && measureAndStop(context, 'fastapi', target, item);
}

/** The FastAPI peer, started and ready; undefined when its packages are not installed. */
export async function startFastApi(): Promise<Target | undefined> {
  if (!fastApiVersions()) return undefined;
  return startTarget({
    name: 'fastapi',
    command: PEER_PYTHON,
    args: ['scripts/bench/targets/fastapi-peer.py'],
    env: { BENCH_FEATURES: String(CLASSIFIER.featureNames.length) },
  });
}

/**
 * The serving revision with API keys configured, under the one-row case sending the key. A request
 * without it must be refused first, so the figure is that of the key check running.
 */
export async function measureWithApiKeys(context: BenchContext, item: Case): Promise<CaseResult> {
  const hash = createHash('sha256').update(BENCH_API_KEY).digest('hex');
  const target = await startEntry(context, 'node-server', [], { [ENV.apiKeyHashes]: hash });
  const refused = await fetch(`${target.url}${item.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: readFileSync(item.bodyFile),
  });
  if (refused.status !== 401) {
    await target.stop();
    throw new Error(`the revision with ${ENV.apiKeyHashes} set answered ${refused.status} to a request without a key, not 401`);
  }
  return measureAndStop(context, 'api-keys', target, { ...item, headers: [`authorization: Bearer ${BENCH_API_KEY}`] });
}

async function measureAndStop(context: BenchContext, entry: EntryId, target: Target, item: Case): Promise<CaseResult> {
  try {
    const [result] = await measureCases(context, entry, target, [item]);
    return result!;
  } finally {
    await target.stop();
  }
}
