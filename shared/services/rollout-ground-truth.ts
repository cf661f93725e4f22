import { isMonitorableKey, monitoringDialect } from '../domain/drift/sql-dialect.js';
import type { ModelTask } from '../domain/model-task.js';
import type { ArmComparison } from '../domain/rollout.js';
import { twoProportionZTest, welchTTest } from '../domain/stats/significance.js';
import type { Warehouse } from '../ports/warehouse.port.js';
import { type Arm, armFilter, type StepWindow } from './rollout-arms.js';

/**
 * An A/B split's arms compared from ground truth, joined by prediction id in the warehouse: a
 * classifier's accuracy per arm with the two-proportion z-test, a regressor's absolute error per arm
 * with Welch's t-test on it. Significant at p < 0.05, in the metric's direction.
 */

/** The p-value below which one arm counts as better. */
export const SIGNIFICANCE = 0.05;

type ArmRow = { arm: 'candidate' | 'baseline'; n: number; correct: number | null; mean: number | null; variance: number | null };

/** Both arms' predicted `expression` (read from `outputs`) with their prediction ids, stacked with an arm column. */
function stackedArms(arms: { candidate: Arm; baseline: Arm }, window: StepWindow, expression: string): { sql: string; params: Record<string, unknown> } {
  const candidate = armFilter('cand', arms.candidate, window);
  const baseline = armFilter('base', arms.baseline, window);
  const select = (arm: string, where: string) => `SELECT '${arm}' AS arm, prediction_id, ${expression} AS predicted FROM {{predictions}} WHERE ${where}`;
  return {
    sql: `${select('candidate', candidate.where)} UNION ALL ${select('baseline', baseline.where)}`,
    params: { ...candidate.params, ...baseline.params, gt_since: candidate.params.cand_from },
  };
}

/** Per arm, the labelled predictions and how many were right (classifier) or the mean and variance of the absolute error (regressor). */
async function armRows(warehouse: Warehouse, arms: { candidate: Arm; baseline: Arm }, window: StepWindow, task: ModelTask): Promise<ArmRow[] | undefined> {
  const dialect = monitoringDialect(warehouse.dialect);
  const regression = task.kind === 'regression';
  const output = regression ? task.score : task.label;
  if (output === undefined || !isMonitorableKey(output) || task.kind === 'other') return undefined;
  const stacked = stackedArms(arms, window, regression ? dialect.jsonNumber('outputs', output) : dialect.jsonText('outputs', output));
  const joined = `FROM (${stacked.sql}) AS p JOIN ${dialect.groundTruth('gt_since')} AS g ON g.prediction_id = p.prediction_id`;
  const sql = regression
    ? `SELECT arm, COUNT(*) AS n, AVG(e) AS mean, VAR_SAMP(e) AS variance FROM (SELECT p.arm AS arm, ABS(p.predicted - g.value) AS e ${joined} ` +
      'WHERE g.value IS NOT NULL AND p.predicted IS NOT NULL) AS errors GROUP BY arm'
    : `SELECT p.arm AS arm, COUNT(*) AS n, SUM(CASE WHEN p.predicted = g.label THEN 1 ELSE 0 END) AS correct ${joined} ` +
      'WHERE g.label IS NOT NULL AND p.predicted IS NOT NULL GROUP BY p.arm';
  return warehouse.query<ArmRow>(sql, stacked.params);
}

/**
 * The comparison of a split's arms over the window from the ground truth that arrived, or null while
 * either arm has none (a regressor needs two labelled predictions per arm for a variance). Only a
 * classifier with a label output is compared (accuracy needs the predicted class as the model gave it).
 */
export async function compareFromGroundTruth(
  warehouse: Warehouse,
  arms: { candidate: Arm; baseline: Arm },
  window: StepWindow,
  task: ModelTask,
): Promise<ArmComparison | null> {
  const rows = await armRows(warehouse, arms, window, task);
  const candidate = rows?.find((row) => row.arm === 'candidate');
  const baseline = rows?.find((row) => row.arm === 'baseline');
  if (!candidate || !baseline) return null;
  const n = { candidate: Number(candidate.n), baseline: Number(baseline.n) };
  if (task.kind !== 'regression') {
    const correct = { candidate: Number(candidate.correct), baseline: Number(baseline.correct) };
    const test = twoProportionZTest(correct.candidate, n.candidate, correct.baseline, n.baseline);
    return {
      metric: 'accuracy',
      candidate: { n: n.candidate, value: correct.candidate / n.candidate },
      baseline: { n: n.baseline, value: correct.baseline / n.baseline },
      test: 'two-proportion z',
      statistic: test.z,
      pValue: test.pValue,
      verdict: verdictOf(test.pValue, test.z > 0),
    };
  }
  if (n.candidate < 2 || n.baseline < 2) return null;
  const summary = (row: ArmRow, size: number) => ({ mean: Number(row.mean), variance: Math.max(0, Number(row.variance)), n: size });
  const test = welchTTest(summary(candidate, n.candidate), summary(baseline, n.baseline));
  return {
    metric: 'mean_absolute_error',
    candidate: { n: n.candidate, value: Number(candidate.mean) },
    baseline: { n: n.baseline, value: Number(baseline.mean) },
    test: "Welch's t",
    // An infinite t (no variance on either side) is not JSON: its sign and p = 0 say the same.
    statistic: Number.isFinite(test.t) ? test.t : Math.sign(test.t) * Number.MAX_VALUE,
    pValue: test.pValue,
    verdict: verdictOf(test.pValue, test.t < 0),
  };
}

function verdictOf(pValue: number, candidateAhead: boolean): ArmComparison['verdict'] {
  if (!(pValue < SIGNIFICANCE)) return 'not yet distinguishable';
  return candidateAhead ? 'candidate better' : 'candidate worse';
}
