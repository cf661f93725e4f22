import { isMonitorableKey, monitoringDialect } from '../domain/drift/sql-dialect.js';
import type { ModelTask } from '../domain/model-task.js';
import type { ArmComparison, Rollout } from '../domain/rollout.js';
import type { Warehouse } from '../ports/warehouse.port.js';
import { type Arm, armErrors, armFilter, armsOf, armTraffic, EXACT_LATENCY_VALUES, outputDrift, type StepWindow } from './rollout-arms.js';
import { compareFromGroundTruth } from './rollout-ground-truth.js';

/** One arm over a rollout's whole time, for `mlops rollout compare`. */
export interface ArmSummary {
  version: number;
  source: Arm['source'];
  requests: number;
  errors: number;
  /** errors / (requests + errors); null before any request. */
  errorRate: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
}

/** A shadow's answers against production's on the same requests (shadow_of = production's prediction id). */
export interface ShadowAgreement {
  pairs: number;
  /** Classifiers: the share of pairs with the same label. */
  labelAgreement?: number | null;
  /** Regressors: the mean and p99 of |shadow score − production score|. */
  meanAbsoluteDifference?: number | null;
  p99AbsoluteDifference?: number | null;
}

/** Candidate and baseline side by side over a rollout's whole time. */
export interface RolloutComparison {
  model: string;
  rolloutId: string;
  mode: Rollout['mode'];
  state: Rollout['state'];
  from: string;
  to: string;
  candidate: ArmSummary;
  baseline: ArmSummary;
  /** Jensen-Shannon distance of the candidate's outputs against the baseline's; null when either has none. */
  outputDrift: number | null;
  /** Shadow rollouts only. */
  shadow: ShadowAgreement | null;
  /** Split rollouts only: the A/B comparison from ground truth, null until any arrived. */
  groundTruth: ArmComparison | null;
}

async function armSummary(warehouse: Warehouse, arm: Arm, window: StepWindow): Promise<ArmSummary> {
  const traffic = await armTraffic(warehouse, arm, window, [0.5, 0.99]);
  const errors = await armErrors(warehouse, arm, window);
  const seen = traffic.requests + errors;
  const [p50Ms = null, p99Ms = null] = traffic.latency;
  return { version: arm.version, source: arm.source, requests: traffic.requests, errors, errorRate: seen === 0 ? null : errors / seen, p50Ms, p99Ms };
}

/** The shadow's answers joined to production's by shadow_of, compared by label (classifier) or score (regressor and binary score). */
async function shadowAgreement(warehouse: Warehouse, arms: { candidate: Arm; baseline: Arm }, window: StepWindow, task: ModelTask): Promise<ShadowAgreement> {
  const dialect = monitoringDialect(warehouse.dialect);
  const byLabel = task.kind !== 'regression' && task.label !== undefined && isMonitorableKey(task.label);
  const output = byLabel ? task.label : task.score;
  if (task.kind === 'other' || output === undefined || !isMonitorableKey(output)) return { pairs: 0 };
  const read = byLabel ? dialect.jsonText('outputs', output) : dialect.jsonNumber('outputs', output);
  const shadow = armFilter('cand', arms.candidate, window);
  const production = armFilter('base', arms.baseline, window);
  const pairs =
    `SELECT s.v AS shadow_value, p.v AS production_value FROM (SELECT shadow_of, ${read} AS v FROM {{predictions}} WHERE ${shadow.where}) AS s ` +
    `JOIN (SELECT prediction_id, ${read} AS v FROM {{predictions}} WHERE ${production.where}) AS p ON p.prediction_id = s.shadow_of ` +
    'WHERE s.v IS NOT NULL AND p.v IS NOT NULL';
  const params = { ...shadow.params, ...production.params };
  if (byLabel) {
    const [row] = await warehouse.query(
      `SELECT COUNT(*) AS pairs, SUM(CASE WHEN shadow_value = production_value THEN 1 ELSE 0 END) AS agreeing FROM (${pairs}) AS j`,
      params,
    );
    const count = Number(row?.pairs ?? 0);
    return { pairs: count, labelAgreement: count === 0 ? null : Number(row?.agreeing) / count };
  }
  const differences = `SELECT ABS(shadow_value - production_value) AS d FROM (${pairs}) AS j`;
  const [row] = await warehouse.query(`SELECT COUNT(*) AS pairs, AVG(d) AS mean_difference FROM (${differences}) AS k`, params);
  const count = Number(row?.pairs ?? 0);
  if (count === 0) return { pairs: 0, meanAbsoluteDifference: null, p99AbsoluteDifference: null };
  const quantiles = dialect.quantiles('d', [0.99], count <= EXACT_LATENCY_VALUES);
  const [tail] = await warehouse.query(`SELECT ${quantiles.select} FROM (${differences}) AS k${quantiles.aggregate ? '' : ' LIMIT 1'}`, params);
  return { pairs: count, meanAbsoluteDifference: Number(row?.mean_difference), p99AbsoluteDifference: tail ? (quantiles.read(tail)[0] ?? null) : null };
}

/**
 * `mlops rollout compare`: the candidate and the baseline over the rollout's whole time (from its start
 * to its end, or `now` while it runs): requests, error rate, latency p50/p99, output drift, and per mode
 * the shadow's agreement with production or the split's comparison from ground truth. `task` is the
 * candidate's; every figure is computed in the warehouse.
 */
export async function compareRollout(warehouse: Warehouse, rollout: Rollout, task: ModelTask, now: Date = new Date()): Promise<RolloutComparison> {
  const window = { from: rollout.createdAt, to: rollout.endedAt ?? now.toISOString() };
  const arms = armsOf(rollout);
  const candidate = await armSummary(warehouse, arms.candidate, window);
  const baseline = await armSummary(warehouse, arms.baseline, window);
  return {
    model: rollout.model,
    rolloutId: rollout.id,
    mode: rollout.mode,
    state: rollout.state,
    from: new Date(window.from).toISOString(),
    to: new Date(window.to).toISOString(),
    candidate,
    baseline,
    outputDrift: await outputDrift(warehouse, arms, window, task),
    shadow: rollout.mode === 'shadow' ? await shadowAgreement(warehouse, arms, window, task) : null,
    groundTruth: rollout.mode === 'split' ? await compareFromGroundTruth(warehouse, arms, window, task) : null,
  };
}
