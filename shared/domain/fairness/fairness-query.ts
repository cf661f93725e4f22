import type { PredictionWindow, Query } from '../drift/drift-queries.js';
import type { MonitoringDialect } from '../drift/sql-dialect.js';
import type { GroupCounts } from './metrics.js';
import type { FairnessPrediction } from './settings.js';

/** An attribute with more values than this in a window is not a grouping: its fairness is skipped. */
export const MAX_GROUPS = 50;

/** One row of the group counts query; `group_value` NULL counts the predictions without a value for the attribute. */
export type GroupCountsRow = Record<keyof typeof COUNTS | 'group_value', unknown>;

const count = (condition: string) => `SUM(CASE WHEN ${condition} THEN 1 ELSE 0 END)`;

/** The counts per group, by the column names of the query. */
const COUNTS = {
  predictions: 'COUNT(*)',
  predicted_positive: count('predicted_positive'),
  labelled: count('actual IS NOT NULL'),
  correct: count('actual IS NOT NULL AND (predicted = actual OR (predicted_positive AND actual_positive))'),
  true_positives: count('predicted_positive AND actual_positive'),
  false_positives: count('predicted_positive AND actual IS NOT NULL AND NOT actual_positive'),
  true_negatives: count('NOT predicted_positive AND actual IS NOT NULL AND NOT actual_positive'),
  false_negatives: count('NOT predicted_positive AND actual_positive'),
};

/**
 * One pass over a version's window for one attribute: predictions with a predicted class, LEFT JOIN
 * their ground truth, counted per group. The group is the attribute's value in the prediction's
 * features, else in the attributes sent with its ground truth. Ground truth is read per prediction id
 * with MAX, which dedupes BigQuery's best-effort streaming inserts the same way in both warehouses.
 * At most MAX_GROUPS + 2 rows (the groups, the ungrouped, one more to tell there are too many).
 */
export function groupCountsQuery(dialect: MonitoringDialect, window: PredictionWindow, attribute: string, prediction: FairnessPrediction): Query {
  const positives = prediction.positives.map((_, index) => `@positive_${index}`).join(', ');
  const sql =
    `WITH p AS (SELECT prediction_id, ${dialect.jsonText('features', attribute)} AS feature_group, ${dialect.jsonText('outputs', prediction.label)} AS predicted ` +
    'FROM {{predictions}} WHERE model = @model AND version = @version AND request_time >= @start AND request_time < @end), ' +
    `g AS (SELECT prediction_id, MAX(label) AS actual, MAX(${dialect.jsonText('attributes', attribute)}) AS truth_group FROM {{ground_truth}} ` +
    'WHERE observed_time >= @start GROUP BY prediction_id), ' +
    `j AS (SELECT COALESCE(p.feature_group, g.truth_group) AS group_value, p.predicted, g.actual, p.predicted IN (${positives}) AS predicted_positive, ` +
    `COALESCE(g.actual IN (${positives}), FALSE) AS actual_positive FROM p LEFT JOIN g ON g.prediction_id = p.prediction_id WHERE p.predicted IS NOT NULL) ` +
    `SELECT group_value, ${Object.entries(COUNTS)
      .map(([name, expression]) => `${expression} AS ${name}`)
      .join(', ')} FROM j GROUP BY group_value ORDER BY predictions DESC, group_value LIMIT ${MAX_GROUPS + 2}`;
  const { model, version, start, end } = window;
  return { sql, params: { model, version, start, end, ...Object.fromEntries(prediction.positives.map((label, index) => [`positive_${index}`, label])) } };
}

/** A row of the query as counts; the caller keeps the NULL group apart. */
export function groupCountsOf(row: GroupCountsRow): GroupCounts {
  const number = (value: unknown) => Number(value ?? 0);
  return {
    group: String(row.group_value),
    predictions: number(row.predictions),
    predictedPositive: number(row.predicted_positive),
    labelled: number(row.labelled),
    correct: number(row.correct),
    truePositives: number(row.true_positives),
    falsePositives: number(row.false_positives),
    trueNegatives: number(row.true_negatives),
    falseNegatives: number(row.false_negatives),
  };
}
