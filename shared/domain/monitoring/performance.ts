import type { PredictionWindow, Query } from '../drift/drift-queries.js';
import type { MonitoringDialect } from '../drift/sql-dialect.js';

/**
 * Performance from ground truth, in streaming aggregates: predictions of a version in a window
 * joined to their outcomes. Classifiers log `label` (and `probability` of the positive class for
 * binary models); regressors log `value`. Ground truth has `label` or `value`.
 */

/** Labels read as the positive class of a binary classifier. */
export const POSITIVE_LABELS = ['1', 'true'];
const BINARY_LABEL_SETS = [
  ['0', '1'],
  ['false', 'true'],
];
/** ROC AUC groups scores at this many decimals, ties at that resolution counting half. */
export const AUC_DECIMALS = 5;
const LOG_LOSS_EPSILON = 1e-15;

const windowParams = ({ model, version, start, end }: PredictionWindow) => ({ model, version, start, end });

/** Predictions of the window joined with their ground truth, as a CTE prefix. */
function joined(dialect: MonitoringDialect): string {
  return (
    'WITH p AS (SELECT prediction_id, ' +
    `${dialect.jsonText('outputs', 'label')} AS predicted, ${dialect.jsonNumber('outputs', 'probability')} AS probability, ` +
    `${dialect.jsonNumber('outputs', 'value')} AS predicted_value FROM {{predictions}} ` +
    'WHERE model = @model AND version = @version AND request_time >= @start AND request_time < @end), ' +
    `j AS (SELECT p.predicted, p.probability, p.predicted_value, g.label AS actual, g.value AS actual_value FROM p LEFT JOIN ${dialect.groundTruth('start')} AS g ON g.prediction_id = p.prediction_id) `
  );
}

const count = (condition: string) => `SUM(CASE WHEN ${condition} THEN 1 ELSE 0 END)`;

/** Counts, accuracy and the regression errors in one pass. */
export function performanceQuery(dialect: MonitoringDialect, window: PredictionWindow): Query {
  const error = 'predicted_value - actual_value';
  return {
    sql:
      `${joined(dialect)}SELECT COUNT(*) AS predictions, ${count('actual IS NOT NULL OR actual_value IS NOT NULL')} AS labelled, ` +
      `${count('actual IS NOT NULL AND predicted IS NOT NULL')} AS classified, ${count('actual IS NOT NULL AND predicted = actual')} AS correct, ` +
      `${count('actual_value IS NOT NULL AND predicted_value IS NOT NULL')} AS regressed, ` +
      `AVG(ABS(${error})) AS mae, AVG((${error}) * (${error})) AS mse, SUM((${error}) * (${error})) AS ss_res, ` +
      `VAR_POP(CASE WHEN predicted_value IS NOT NULL THEN actual_value END) AS var_actual FROM j`,
    params: windowParams(window),
  };
}

/** True, false positives and false negatives per class (at most `limit` classes). */
export function classCountsQuery(dialect: MonitoringDialect, window: PredictionWindow, limit = 1001): Query {
  const labelled = 'actual IS NOT NULL AND predicted IS NOT NULL';
  return {
    sql:
      `${joined(dialect)}SELECT class_label, SUM(tp) AS tp, SUM(fp) AS fp, SUM(fn) AS fn FROM (` +
      `SELECT predicted AS class_label, CASE WHEN predicted = actual THEN 1 ELSE 0 END AS tp, CASE WHEN predicted <> actual THEN 1 ELSE 0 END AS fp, 0 AS fn FROM j WHERE ${labelled} ` +
      `UNION ALL SELECT actual AS class_label, 0 AS tp, 0 AS fp, CASE WHEN predicted <> actual THEN 1 ELSE 0 END AS fn FROM j WHERE ${labelled}` +
      `) AS per_class GROUP BY class_label ORDER BY class_label LIMIT ${limit}`,
    params: windowParams(window),
  };
}

/**
 * ROC AUC as the Mann-Whitney statistic over scores grouped at AUC_DECIMALS (one window pass over
 * at most 10^AUC_DECIMALS + 1 groups), and log loss with probabilities clipped to [1e-15, 1 − 1e-15].
 */
export function binaryScoresQuery(dialect: MonitoringDialect, window: PredictionWindow): Query {
  const positive = `actual IN (${POSITIVE_LABELS.map((label) => `'${label}'`).join(', ')})`;
  return {
    sql:
      `${joined(dialect)}, scores AS (SELECT ROUND(probability, ${AUC_DECIMALS}) AS score, ${count(positive)} AS positives, ${count(`NOT ${positive}`)} AS negatives, ` +
      `SUM(CASE WHEN ${positive} THEN -LN(GREATEST(probability, ${LOG_LOSS_EPSILON})) ELSE -LN(GREATEST(1 - probability, ${LOG_LOSS_EPSILON})) END) AS loss ` +
      'FROM j WHERE actual IS NOT NULL AND probability IS NOT NULL GROUP BY 1), ' +
      `ranked AS (SELECT positives, negatives, loss, SUM(negatives) OVER (ORDER BY score ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS below FROM scores) ` +
      `SELECT SUM(CAST(positives AS ${dialect.double}) * COALESCE(below, 0)) + 0.5 * SUM(CAST(positives AS ${dialect.double}) * negatives) AS concordant, ` +
      'SUM(positives) AS positives, SUM(negatives) AS negatives, SUM(loss) AS loss FROM ranked',
    params: windowParams(window),
  };
}

/** The performance of one version in one window; a metric is null when the window cannot give it. */
export interface Performance {
  predictions: number;
  labelled: number;
  metrics: Record<string, number | null>;
}

export type ClassRow = { class_label: string; tp: number; fp: number; fn: number };

const ratio = (numerator: number, denominator: number): number | null => (denominator > 0 ? numerator / denominator : null);

/** The positive class when the labels are {0, 1} or {false, true}; undefined otherwise (macro averages then). */
export function positiveClass(classes: string[]): string | undefined {
  const set = BINARY_LABEL_SETS.find((labels) => classes.every((label) => labels.includes(label)));
  return set?.[1];
}

/** Precision, recall and F1: of the positive class for binary labels, else macro-averaged over classes. */
export function classificationMetrics(rows: ClassRow[]): { precision: number | null; recall: number | null; f1: number | null } {
  const f1 = (precision: number | null, recall: number | null) =>
    precision === null || recall === null ? null : precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  const positive = positiveClass(rows.map((row) => row.class_label));
  if (positive !== undefined) {
    const row = rows.find((candidate) => candidate.class_label === positive) ?? { class_label: positive, tp: 0, fp: 0, fn: 0 };
    const precision = ratio(row.tp, row.tp + row.fp);
    const recall = ratio(row.tp, row.tp + row.fn);
    return { precision, recall, f1: f1(precision, recall) };
  }
  if (rows.length === 0) return { precision: null, recall: null, f1: null };
  const perClass = rows.map((row) => {
    const precision = ratio(row.tp, row.tp + row.fp) ?? 0;
    const recall = ratio(row.tp, row.tp + row.fn) ?? 0;
    return { precision, recall, f1: f1(precision, recall) ?? 0 };
  });
  const mean = (key: 'precision' | 'recall' | 'f1') => perClass.reduce((sum, row) => sum + row[key], 0) / perClass.length;
  return { precision: mean('precision'), recall: mean('recall'), f1: mean('f1') };
}
