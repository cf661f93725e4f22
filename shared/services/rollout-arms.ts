import type { SampleSource } from '../domain/drift/drift-queries.js';
import { isMonitorableKey, monitoringDialect } from '../domain/drift/sql-dialect.js';
import type { ModelTask } from '../domain/model-task.js';
import { errorsQuery } from '../domain/monitoring/health.js';
import type { Rollout } from '../domain/rollout.js';
import type { Warehouse } from '../ports/warehouse.port.js';
import { type FeatureKey, measureDrift } from './drift-measures.js';

/**
 * The arms of a rollout and their figures, computed in the warehouse (DuckDB or BigQuery alike) so the process only ever
 * reads a few summary rows. An arm is one version's predictions from one source: the candidate's
 * online answers in a canary or split, its shadow copies (`source = 'shadow'`) in a shadow rollout;
 * the baseline's online answers always.
 */

/** The time a figure covers: [from, to). */
export interface StepWindow {
  from: string | Date;
  to: string | Date;
}

/** Where one arm's predictions are. */
export interface Arm {
  model: string;
  version: number;
  source: 'online' | 'shadow';
}

/** Latency quantiles are exact up to this many values in an arm's window (bounded memory in the warehouse), approximate beyond. */
export const EXACT_LATENCY_VALUES = 100_000;

/** Statuses that are the caller's credentials, not the version's fault: not counted as errors. */

/** The candidate and baseline arms of a rollout. */
export function armsOf(rollout: Pick<Rollout, 'model' | 'mode' | 'candidate' | 'baseline'>): { candidate: Arm; baseline: Arm } {
  return {
    candidate: { model: rollout.model, version: rollout.candidate, source: rollout.mode === 'shadow' ? 'shadow' : 'online' },
    baseline: { model: rollout.model, version: rollout.baseline, source: 'online' },
  };
}

const dateOf = (value: string | Date): Date => (value instanceof Date ? value : new Date(value));

/** The WHERE clause selecting an arm's predictions in a window, with its parameters named after `prefix`. */
export function armFilter(prefix: string, arm: Arm, { from, to }: StepWindow): { where: string; params: Record<string, unknown> } {
  const p = prefix;
  return {
    where: `model = @${p}_model AND version = @${p}_version AND source = @${p}_source AND request_time >= @${p}_from AND request_time < @${p}_to`,
    params: { [`${p}_model`]: arm.model, [`${p}_version`]: arm.version, [`${p}_source`]: arm.source, [`${p}_from`]: dateOf(from), [`${p}_to`]: dateOf(to) },
  };
}

/** An arm's `outputs` as a drift sample (a SELECT of column `doc`). */
export function armOutputs(prefix: string, arm: Arm, window: StepWindow): SampleSource {
  const filter = armFilter(prefix, arm, window);
  return { sql: `SELECT outputs AS doc FROM {{predictions}} WHERE ${filter.where}`, params: filter.params };
}

/**
 * An arm's answered requests and latency quantiles. Requests are counted as prediction rows: the
 * predictions table has no request id, so a request of several instances counts once per instance
 * (online requests are mostly one instance).
 */
export async function armTraffic(
  warehouse: Warehouse,
  arm: Arm,
  window: StepWindow,
  probabilities: number[],
): Promise<{ requests: number; latency: (number | null)[] }> {
  const filter = armFilter('arm', arm, window);
  const [counted] = await warehouse.query(`SELECT COUNT(*) AS requests, COUNT(latency_ms) AS timed FROM {{predictions}} WHERE ${filter.where}`, filter.params);
  const requests = Number(counted?.requests ?? 0);
  const timed = Number(counted?.timed ?? 0);
  if (timed === 0) return { requests, latency: probabilities.map(() => null) };
  const quantiles = monitoringDialect(warehouse.dialect).quantiles('latency_ms', probabilities, timed <= EXACT_LATENCY_VALUES);
  const sql = `SELECT ${quantiles.select} FROM (SELECT latency_ms FROM {{predictions}} WHERE ${filter.where} AND latency_ms IS NOT NULL) AS l${quantiles.aggregate ? '' : ' LIMIT 1'}`;
  const [row] = await warehouse.query(sql, filter.params);
  return { requests, latency: row ? quantiles.read(row) : probabilities.map(() => null) };
}

/** Requests an arm's version refused or failed in the window's minutes (see errorsQuery). */
export async function armErrors(warehouse: Warehouse, arm: Arm, { from, to }: StepWindow): Promise<number> {
  const errors = errorsQuery({ model: arm.model, version: arm.version, start: dateOf(from), end: dateOf(to) });
  const [row] = await warehouse.query(errors.sql, errors.params);
  return Number(row?.errors ?? 0);
}

/** The output compared between arms: a classifier's label (categories), else a binary score or a regressor's value (binned). */
export function comparedOutput(task: ModelTask): FeatureKey | undefined {
  const named = (key: string | undefined, kind: FeatureKey['kind']) =>
    key !== undefined && isMonitorableKey(key) ? { key, name: `outputs.${key}`, kind } : undefined;
  if (task.kind === 'regression') return named(task.score, 'numeric');
  if (task.kind === 'other') return undefined;
  return named(task.label, 'categorical') ?? (task.kind === 'binary' ? named(task.score, 'numeric') : undefined);
}

/**
 * Jensen-Shannon distance of the candidate's outputs against the baseline's (natural log, SciPy's
 * jensenshannon), through the drift machinery: label counts per category, or counts per bin cut at the
 * baseline's deciles. Null when the task has no comparable output or either arm answered nothing.
 */
export async function outputDrift(warehouse: Warehouse, arms: { candidate: Arm; baseline: Arm }, window: StepWindow, task: ModelTask): Promise<number | null> {
  const output = comparedOutput(task);
  if (!output) return null;
  const comparison = { reference: armOutputs('base', arms.baseline, window), current: armOutputs('cand', arms.candidate, window) };
  const settings = { features: { [output.name]: { method: 'jensen_shannon' as const } }, datasetDriftShare: 1, problems: [] };
  const { results } = await measureDrift(warehouse, comparison, [output], settings);
  return results[0]?.value ?? null;
}
