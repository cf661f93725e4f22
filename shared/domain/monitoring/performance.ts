import type { PredictionWindow, Query } from '../drift/drift-queries.js';
import { isMonitorableKey, type JsonPath, type MonitoringDialect } from '../drift/sql-dialect.js';
import { type ModelTask, positiveClassOf, type TaskKind } from '../model-task.js';

/**
 * Performance from ground truth, in streaming aggregates: predictions of a version in a window
 * joined to their outcomes, each output read by the role the model's task gives it (skl2onnx's
 * `output_label`, onnxmltools' `label`, a regressor's `variable`). Ground truth has `label` or `value`.
 */

/** Ground-truth labels read as the positive class of a binary classifier whose classes are 0/1 or false/true. */
export const POSITIVE_LABELS = ['1', 'true'];
const BINARY_LABEL_SETS = [
  ['0', '1'],
  ['false', 'true'],
];
/** ROC AUC groups scores at this many decimals, ties at that resolution counting half. */
export const AUC_DECIMALS = 5;
const LOG_LOSS_EPSILON = 1e-15;
/** Per-class SQL (the most probable class, the actual class's probability) is written as one CASE branch per class, up to this many. */
export const MAX_CASE_CLASSES = 50;

/** How the probabilities output is laid out in the `outputs` JSON: keyed by class label (a ZipMap export) or an array in class order. */
export interface OutputLayout {
  keyedProbabilities?: boolean;
}

/** The layout of a task's probabilities output, read from the version's signature outputs. */
export function outputLayout(outputs: readonly { name: string; keyedByClass?: boolean }[], task: ModelTask): OutputLayout {
  return { keyedProbabilities: outputs.some((output) => output.name === task.probabilities && output.keyedByClass === true) };
}

/** A metric the window cannot give for this model, and why. */
export interface SkippedMetric {
  metric: string;
  reason: string;
}

/** Where the performance queries read each role of a task's outputs. */
export interface OutputReading {
  kind: TaskKind;
  /** The predicted class, read as text. */
  label?: JsonPath;
  /** Each class's probability, in class order: for the most probable class when there is no label, and for multiclass log loss and ROC AUC. */
  classes?: { label: string; path: JsonPath }[];
  /** True when the predicted class is the most probable of `classes`. */
  argmax: boolean;
  /** A binary model's positive-class probability. */
  score?: JsonPath;
  /** A regressor's value. */
  value?: JsonPath;
  /** Ground-truth labels counted as the positive class of a binary model. */
  positives: string[];
  skipped: SkippedMetric[];
}

/** The binary positive labels: the task's positive class, with 1 and true standing for each other as JSON text of a label. */
function positiveLabels(task: ModelTask): string[] {
  const positive = positiveClassOf(task);
  return positive === undefined || POSITIVE_LABELS.includes(positive) ? POSITIVE_LABELS : [positive];
}

/** Each class's probability path, or why there is none (undefined reason: the model has no probabilities output). */
function classPaths(task: ModelTask, keyed: boolean): { classes?: OutputReading['classes']; reason?: string } {
  const output = task.probabilities;
  if (output === undefined) return {};
  if (!isMonitorableKey(output)) return { reason: `output name '${output}' cannot be named in a JSONPath (letters, digits, _ - : only)` };
  if (!task.classes) return { reason: `the class of each column of '${output}' is unknown (declare it with the classes tag)` };
  if (task.classes.length > MAX_CASE_CLASSES)
    return { reason: `'${output}' has ${task.classes.length} classes, more than the ${MAX_CASE_CLASSES} read per class` };
  const unsafe = keyed ? task.classes.find((label) => !isMonitorableKey(label)) : undefined;
  if (unsafe !== undefined)
    return { reason: `'${output}' is keyed by class and class label ${JSON.stringify(unsafe)} cannot be named in a JSONPath (letters, digits, _ - : only)` };
  return { classes: task.classes.map((label, index) => ({ label, path: [output, keyed ? label : index] })) };
}

/** The binary positive-class probability: from the probabilities output, else the score output. */
function positiveScore(task: ModelTask, classes: OutputReading['classes']): JsonPath | undefined {
  const positive = positiveClassOf(task);
  const fromProbabilities = classes?.find((entry) => entry.label === positive)?.path ?? classes?.[1]?.path;
  if (fromProbabilities) return fromProbabilities;
  return task.score !== undefined && isMonitorableKey(task.score) ? task.score : undefined;
}

/** Where each metric's inputs are read for `task`, and the metrics it cannot have with the reason. */
export function outputReading(task: ModelTask, { keyedProbabilities = false }: OutputLayout = {}): OutputReading {
  const reading: OutputReading = { kind: task.kind, argmax: false, positives: positiveLabels(task), skipped: [] };
  const skip = (metric: string, reason: string) => reading.skipped.push({ metric, reason });
  if (task.kind === 'other') {
    skip('performance', "the model's task is 'other': no output is known as its label, probabilities or score (tags task and output.<role> declare them)");
    return reading;
  }
  if (task.kind === 'regression') {
    if (task.score !== undefined && isMonitorableKey(task.score)) reading.value = task.score;
    else skip('mae, rmse, r2', task.score === undefined ? 'the regressor has no score output' : `output name '${task.score}' cannot be named in a JSONPath`);
    return reading;
  }
  const { classes, reason } = classPaths(task, keyedProbabilities);
  if (task.label !== undefined && isMonitorableKey(task.label)) reading.label = task.label;
  else if (classes) reading.argmax = true;
  else
    skip(
      'accuracy, precision, recall, f1',
      task.label !== undefined ? `output name '${task.label}' cannot be named in a JSONPath` : `no label output${reason ? `, and ${reason}` : ''}`,
    );
  if (task.kind === 'binary') {
    reading.score = positiveScore(task, classes);
    if (reading.score === undefined) skip('roc_auc, log_loss', reason ?? 'the model has no probabilities or score output');
  } else if (!classes) skip('roc_auc, log_loss', reason ?? 'the model has no probabilities output');
  if (classes && (reading.argmax || task.kind === 'multiclass')) reading.classes = classes;
  return reading;
}

const windowParams = ({ model, version, start, end }: PredictionWindow) => ({ model, version, start, end });

/** The class labels and positive labels a reading's SQL names as parameters. */
const readingParams = (reading: OutputReading) => ({
  ...Object.fromEntries((reading.classes ?? []).map((entry, index) => [`class_${index}`, entry.label])),
  ...Object.fromEntries(reading.positives.map((label, index) => [`positive_${index}`, label])),
});

const paramsOf = (window: PredictionWindow, reading: OutputReading) => ({ ...windowParams(window), ...readingParams(reading) });

/** `CASE WHEN pr0 ... THEN @class_0 ...`: the first most probable class, NULL when a probability is missing. */
function argmaxLabel(classes: NonNullable<OutputReading['classes']>): string {
  const columns = classes.map((_, index) => `pr${index}`);
  const missing = columns.map((column) => `${column} IS NULL`).join(' OR ');
  return `CASE WHEN ${missing} THEN NULL ${columns.map((column, index) => `WHEN ${column} = top THEN @class_${index}`).join(' ')} END`;
}

/** Predictions of the window joined with their ground truth, as a CTE prefix (`p`, then `j`). */
function joined(dialect: MonitoringDialect, reading: OutputReading): string {
  const columns: { alias: string; path: JsonPath; numeric: boolean }[] = [
    ...(reading.label !== undefined ? [{ alias: 'predicted', path: reading.label, numeric: false }] : []),
    ...(reading.score !== undefined ? [{ alias: 'probability', path: reading.score, numeric: true }] : []),
    ...(reading.value !== undefined ? [{ alias: 'predicted_value', path: reading.value, numeric: true }] : []),
    ...(reading.classes ?? []).map((entry, index) => ({ alias: `pr${index}`, path: entry.path, numeric: true })),
  ];
  const texts = dialect.jsonTexts(
    'outputs',
    columns.map((column) => column.path),
  );
  const read = columns.map((column, index) => `${column.numeric ? dialect.toDouble(texts.item(index)) : texts.item(index)} AS ${column.alias}`);
  const inWindow = 'FROM {{predictions}} WHERE model = @model AND version = @version AND request_time >= @start AND request_time < @end';
  const source =
    columns.length > 0
      ? `(SELECT prediction_id, ${read.join(', ')} FROM (SELECT prediction_id, ${texts.select} ${inWindow}) AS o)`
      : `(SELECT prediction_id ${inWindow})`;
  const named = new Set(columns.map((column) => column.alias));
  const orNull = (alias: string, type: string) => (named.has(alias) ? alias : `CAST(NULL AS ${type}) AS ${alias}`);
  const classes = reading.classes ?? [];
  const probabilities = classes.map((_, index) => `, pr${index}`).join('');
  const predicted = reading.argmax ? `${argmaxLabel(classes)} AS predicted` : orNull('predicted', dialect.text);
  const from = reading.argmax ? `(SELECT v.*, GREATEST(${classes.map((_, index) => `pr${index}`).join(', ')}) AS top FROM ${source} AS v)` : source;
  const actualProbability =
    reading.kind === 'multiclass' && classes.length > 0
      ? `CASE g.label ${classes.map((_, index) => `WHEN @class_${index} THEN p.pr${index}`).join(' ')} END`
      : `CAST(NULL AS ${dialect.double})`;
  return (
    `WITH p AS (SELECT prediction_id, ${predicted}, ${orNull('probability', dialect.double)}, ${orNull('predicted_value', dialect.double)}${probabilities} FROM ${from} AS w), ` +
    `j AS (SELECT p.*, g.label AS actual, g.value AS actual_value, ${actualProbability} AS actual_probability FROM p LEFT JOIN ${dialect.groundTruth('start')} AS g ON g.prediction_id = p.prediction_id) `
  );
}

const count = (condition: string) => `SUM(CASE WHEN ${condition} THEN 1 ELSE 0 END)`;

/** Counts, accuracy, the regression errors and the multiclass log loss in one pass. */
export function performanceQuery(dialect: MonitoringDialect, window: PredictionWindow, reading: OutputReading): Query {
  const error = 'predicted_value - actual_value';
  return {
    sql:
      `${joined(dialect, reading)}SELECT COUNT(*) AS predictions, ${count('actual IS NOT NULL OR actual_value IS NOT NULL')} AS labelled, ` +
      `${count('actual IS NOT NULL AND predicted IS NOT NULL')} AS classified, ${count('actual IS NOT NULL AND predicted = actual')} AS correct, ` +
      `${count('actual_value IS NOT NULL AND predicted_value IS NOT NULL')} AS regressed, ` +
      `AVG(ABS(${error})) AS mae, AVG((${error}) * (${error})) AS mse, SUM((${error}) * (${error})) AS ss_res, ` +
      `VAR_POP(CASE WHEN predicted_value IS NOT NULL THEN actual_value END) AS var_actual, ` +
      `COUNT(actual_probability) AS class_scored, SUM(-LN(GREATEST(actual_probability, ${LOG_LOSS_EPSILON}))) AS class_loss FROM j`,
    params: paramsOf(window, reading),
  };
}

/** True, false positives and false negatives per class (at most `limit` classes). */
export function classCountsQuery(dialect: MonitoringDialect, window: PredictionWindow, reading: OutputReading, limit = 1001): Query {
  const labelled = 'actual IS NOT NULL AND predicted IS NOT NULL';
  return {
    sql:
      `${joined(dialect, reading)}SELECT class_label, SUM(tp) AS tp, SUM(fp) AS fp, SUM(fn) AS fn FROM (` +
      `SELECT predicted AS class_label, CASE WHEN predicted = actual THEN 1 ELSE 0 END AS tp, CASE WHEN predicted <> actual THEN 1 ELSE 0 END AS fp, 0 AS fn FROM j WHERE ${labelled} ` +
      `UNION ALL SELECT actual AS class_label, 0 AS tp, 0 AS fp, CASE WHEN predicted <> actual THEN 1 ELSE 0 END AS fn FROM j WHERE ${labelled}` +
      `) AS per_class GROUP BY class_label ORDER BY class_label LIMIT ${limit}`,
    params: paramsOf(window, reading),
  };
}

/** Concordant pairs from `scores` (score, positives, negatives per group, optionally per class `k`) by one running sum. */
function concordance(dialect: MonitoringDialect, perClass: boolean): string {
  const partition = perClass ? 'PARTITION BY k ' : '';
  return (
    `ranked AS (SELECT ${perClass ? 'k, ' : ''}positives, negatives${perClass ? '' : ', loss'}, SUM(negatives) OVER (${partition}ORDER BY score ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS below FROM scores) ` +
    `SELECT ${perClass ? 'k AS class_index, ' : ''}SUM(CAST(positives AS ${dialect.double}) * COALESCE(below, 0)) + 0.5 * SUM(CAST(positives AS ${dialect.double}) * negatives) AS concordant, ` +
    `SUM(positives) AS positives, SUM(negatives) AS negatives${perClass ? '' : ', SUM(loss) AS loss'} FROM ranked`
  );
}

/**
 * ROC AUC as the Mann-Whitney statistic over scores grouped at AUC_DECIMALS (one window pass over
 * at most 10^AUC_DECIMALS + 1 groups), and log loss with probabilities clipped below at 1e-15.
 */
export function binaryScoresQuery(dialect: MonitoringDialect, window: PredictionWindow, reading: OutputReading): Query {
  const positive = `actual IN (${reading.positives.map((_, index) => `@positive_${index}`).join(', ')})`;
  return {
    sql:
      `${joined(dialect, reading)}, scores AS (SELECT ROUND(probability, ${AUC_DECIMALS}) AS score, ${count(positive)} AS positives, ${count(`NOT ${positive}`)} AS negatives, ` +
      `SUM(CASE WHEN ${positive} THEN -LN(GREATEST(probability, ${LOG_LOSS_EPSILON})) ELSE -LN(GREATEST(1 - probability, ${LOG_LOSS_EPSILON})) END) AS loss ` +
      `FROM j WHERE actual IS NOT NULL AND probability IS NOT NULL GROUP BY 1), ${concordance(dialect, false)}`,
    params: paramsOf(window, reading),
  };
}

/**
 * One-vs-rest ROC AUC per class of a multiclass model, in one pass: each labelled prediction is
 * paired with every class index `k` (score: that class's probability; positive: the actual class is k).
 */
export function oneVsRestScoresQuery(dialect: MonitoringDialect, window: PredictionWindow, reading: OutputReading): Query {
  const classes = reading.classes ?? [];
  const byClass = (value: (index: number) => string) => `CASE k ${classes.map((_, index) => `WHEN ${index} THEN ${value(index)}`).join(' ')} END`;
  const indices = classes.map((_, index) => `SELECT ${index} AS k`).join(' UNION ALL ');
  const positive = `actual = ${byClass((index) => `@class_${index}`)}`;
  return {
    sql:
      `${joined(dialect, reading)}, indices AS (${indices}), ` +
      `pairs AS (SELECT k, ${byClass((index) => `pr${index}`)} AS probability, ${positive} AS positive FROM j CROSS JOIN indices WHERE actual IS NOT NULL), ` +
      `scores AS (SELECT k, ROUND(probability, ${AUC_DECIMALS}) AS score, ${count('positive')} AS positives, ${count('NOT positive')} AS negatives ` +
      `FROM pairs WHERE probability IS NOT NULL GROUP BY 1, 2), ${concordance(dialect, true)} GROUP BY k ORDER BY k`,
    params: paramsOf(window, reading),
  };
}

/** The performance of one version in one window; a metric is null when the window cannot give it. */
export interface Performance {
  predictions: number;
  labelled: number;
  metrics: Record<string, number | null>;
  /** Metrics the model's outputs cannot give, with the reason. */
  skipped: SkippedMetric[];
}

export type ClassRow = { class_label: string; tp: number; fp: number; fn: number };

const ratio = (numerator: number, denominator: number): number | null => (denominator > 0 ? numerator / denominator : null);

/** The positive class when the labels are {0, 1} or {false, true}; undefined otherwise (macro averages then). */
export function positiveClass(classes: string[]): string | undefined {
  const set = BINARY_LABEL_SETS.find((labels) => classes.every((label) => labels.includes(label)));
  return set?.[1];
}

/**
 * Precision, recall and F1: of the `positive` class (by default the positive of 0/1 or false/true
 * labels), else (`null`, or other labels) macro-averaged over the classes seen.
 */
export function classificationMetrics(
  rows: ClassRow[],
  positive: string | null = positiveClass(rows.map((row) => row.class_label)) ?? null,
): { precision: number | null; recall: number | null; f1: number | null } {
  const f1 = (precision: number | null, recall: number | null) =>
    precision === null || recall === null ? null : precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  if (positive !== null) {
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
