import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDbWarehouse } from '../../shared/adapters/duckdb/duckdb-warehouse.js';
import type { ModelTask } from '../../shared/domain/model-task.js';
import { DEFAULT_CRITERIA, type Rollout, type RolloutMode } from '../../shared/domain/rollout.js';
import { TABLES } from '../../shared/domain/tables.js';
import type { Row } from '../../shared/ports/warehouse.port.js';

/** Rows and rollouts for the rollout analyser's tests: arms of predictions spread over a ten-minute window from T0. */
export const T0 = Date.parse('2026-05-01T10:00:00Z');
export const MINUTE = 60_000;
export const at = (ms: number) => new Date(T0 + ms).toISOString();
export const WINDOW = { from: at(0), to: at(10 * MINUTE) };
/** The tasks the arms' outputs follow. */
export const CLASSIFIER: ModelTask = { kind: 'binary', label: 'label', score: 'probability', classes: ['0', '1'], fromTags: [] };
export const REGRESSOR: ModelTask = { kind: 'regression', score: 'value', fromTags: [] };

/** numpy's default (linear) percentile. */
export function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  return sorted[low]! + (sorted[Math.ceil(position)]! - sorted[low]!) * (position - low);
}

/** scipy.spatial.distance.jensenshannon over two count vectors, natural log. */
export function jensenShannon(p: number[], q: number[]): number {
  const shares = (counts: number[]) => counts.map((count) => count / counts.reduce((a, b) => a + b, 0));
  const [a, b] = [shares(p), shares(q)];
  const term = (x: number, m: number) => (x === 0 ? 0 : x * Math.log(x / m));
  return Math.sqrt(a.reduce((sum, x, i) => sum + term(x, (x + b[i]!) / 2) + term(b[i]!, (x + b[i]!) / 2), 0) / 2);
}

/** A running rollout of version 2 against version 1, started at T0. */
export function rollout(model: string, mode: RolloutMode): Rollout {
  return {
    id: `r-${model}`,
    model,
    mode,
    baseline: 1,
    candidate: 2,
    steps: [mode === 'canary' ? 10 : 50],
    intervalMs: 10 * MINUTE,
    durationMs: mode === 'canary' ? null : 10 * MINUTE,
    stickyKey: null,
    criteria: DEFAULT_CRITERIA,
    state: 'running',
    stepIndex: 0,
    history: [{ index: 0, percent: 10, startedAt: WINDOW.from, endedAt: null, figures: null, verdict: null, reason: null }],
    actor: 'test',
    reason: 'test',
    requestId: `start-${model}`,
    createdAt: WINDOW.from,
    updatedAt: WINDOW.from,
    endedAt: null,
  };
}

/** One arm's rows to insert. */
export interface Arm {
  version: number;
  outputs: Record<string, unknown>[];
  latency: number[];
  source?: string;
  offsetMs?: number;
  /** How long after `offsetMs` the rows spread over: the ten-minute window by default. */
  spanMs?: number;
}

/** Prediction rows of one arm spread over the window (ids `<model>-v<version>-<i>`). */
export function rows(model: string, { version, outputs, latency, source = 'online', offsetMs = 0, spanMs = 10 * MINUTE }: Arm): Row[] {
  return outputs.map((output, index) => ({
    prediction_id: `${model}-v${version}-${source}-${offsetMs}-${index}`,
    model,
    version,
    request_time: at(offsetMs + Math.floor((index * spanMs) / outputs.length)),
    features: { x: index },
    outputs: output,
    latency_ms: latency[index],
    source,
  }));
}

/** A DuckDB warehouse in a temporary folder with the platform's tables, and how to remove it. */
export async function temporaryWarehouse(): Promise<{ warehouse: DuckDbWarehouse; dispose: () => Promise<void> }> {
  const folder = await mkdtemp(join(tmpdir(), 'rollout-analysis-'));
  const warehouse = new DuckDbWarehouse({ path: join(folder, 'warehouse.duckdb'), dataset: 'mlops' });
  await warehouse.ensureTables(TABLES);
  return {
    warehouse,
    dispose: async () => {
      await warehouse.close();
      await rm(folder, { recursive: true, force: true });
    },
  };
}
