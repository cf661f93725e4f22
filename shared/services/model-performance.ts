import { type PredictionWindow, windowRowBase } from '../domain/drift/drift-queries.js';
import { type MonitoringDialect, monitoringDialect } from '../domain/drift/sql-dialect.js';
import type { ModelTask } from '../domain/model-task.js';
import {
  binaryScoresQuery,
  type ClassRow,
  classCountsQuery,
  classificationMetrics,
  type OutputLayout,
  type OutputReading,
  oneVsRestScoresQuery,
  outputReading,
  type Performance,
  performanceQuery,
} from '../domain/monitoring/performance.js';
import type { Warehouse } from '../ports/warehouse.port.js';

type Aggregates = {
  predictions: number;
  labelled: number;
  classified: number;
  correct: number;
  regressed: number;
  mae: number | null;
  mse: number | null;
  ss_res: number | null;
  var_actual: number | null;
  class_scored: number | null;
  class_loss: number | null;
};

type Metrics = Record<string, number | null>;

const numberOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/**
 * Classification (accuracy, precision, recall, F1, ROC AUC, log loss) and regression (MAE, RMSE, R²)
 * metrics of a version's window, over the predictions that have ground truth, with the sample counts.
 * Each output is read by its role in `task`; a task of kind 'other' gets the counts only.
 */
export async function measurePerformance(warehouse: Warehouse, window: PredictionWindow, task: ModelTask, layout: OutputLayout = {}): Promise<Performance> {
  const dialect = monitoringDialect(warehouse.dialect);
  const reading = outputReading(task, layout);
  const query = performanceQuery(dialect, window, reading);
  const [raw] = await warehouse.query(query.sql, query.params);
  const row = Object.fromEntries(Object.entries(raw ?? {}).map(([name, value]) => [name, numberOrNull(value)])) as Aggregates;
  const predictions = row.predictions ?? 0;
  const labelled = row.labelled ?? 0;
  const metrics: Metrics = { labelled_share: predictions > 0 ? labelled / predictions : null };
  if (row.classified > 0) Object.assign(metrics, await classification(warehouse, dialect, window, reading, row));
  if (row.regressed > 0) {
    const totalSquares = (row.var_actual ?? 0) * row.regressed;
    Object.assign(metrics, {
      mae: row.mae,
      rmse: row.mse === null ? null : Math.sqrt(row.mse),
      r2: totalSquares > 0 && row.ss_res !== null ? 1 - row.ss_res / totalSquares : null,
    });
  }
  return { predictions, labelled, metrics, skipped: reading.skipped };
}

async function classification(
  warehouse: Warehouse,
  dialect: MonitoringDialect,
  window: PredictionWindow,
  reading: OutputReading,
  row: Aggregates,
): Promise<Metrics> {
  const classQuery = classCountsQuery(dialect, window, reading);
  const classes = (await warehouse.query<ClassRow>(classQuery.sql, classQuery.params)).map((found) => ({
    class_label: String(found.class_label),
    tp: Number(found.tp),
    fp: Number(found.fp),
    fn: Number(found.fn),
  }));
  const labels = classes.map((found) => found.class_label);
  const positive = reading.kind === 'binary' ? (reading.positives.find((label) => labels.includes(label)) ?? reading.positives[0]!) : null;
  const metrics: Metrics = { accuracy: row.correct / row.classified, ...classificationMetrics(classes, positive) };
  if (reading.kind === 'binary' && reading.score !== undefined) Object.assign(metrics, await binaryScores(warehouse, dialect, window, reading));
  if (reading.kind === 'multiclass' && reading.classes) {
    if (row.class_scored) metrics.log_loss = (row.class_loss ?? 0) / row.class_scored;
    metrics.roc_auc = await oneVsRestAuc(warehouse, dialect, window, reading);
  }
  return metrics;
}

async function binaryScores(warehouse: Warehouse, dialect: MonitoringDialect, window: PredictionWindow, reading: OutputReading): Promise<Metrics> {
  const scoresQuery = binaryScoresQuery(dialect, window, reading);
  const [scores] = await warehouse.query(scoresQuery.sql, scoresQuery.params);
  const positives = Number(scores?.positives ?? 0);
  const negatives = Number(scores?.negatives ?? 0);
  if (positives + negatives === 0) return {};
  return {
    log_loss: Number(scores?.loss) / (positives + negatives),
    roc_auc: positives > 0 && negatives > 0 ? Number(scores?.concordant) / (positives * negatives) : null,
  };
}

/** The macro average of each class's one-vs-rest ROC AUC, over the classes with both positives and negatives in the window. */
async function oneVsRestAuc(warehouse: Warehouse, dialect: MonitoringDialect, window: PredictionWindow, reading: OutputReading): Promise<number | null> {
  const query = oneVsRestScoresQuery(dialect, window, reading);
  const perClass = (await warehouse.query(query.sql, query.params))
    .map((found) => ({ concordant: Number(found.concordant), positives: Number(found.positives), negatives: Number(found.negatives) }))
    .filter((found) => found.positives > 0 && found.negatives > 0)
    .map((found) => found.concordant / (found.positives * found.negatives));
  return perClass.length > 0 ? perClass.reduce((sum, auc) => sum + auc, 0) / perClass.length : null;
}

/** model_performance rows: one per metric that has a value. */
export function performanceRows(performance: Performance, window: PredictionWindow, computedAt: string): Record<string, unknown>[] {
  return Object.entries(performance.metrics)
    .filter((entry): entry is [string, number] => entry[1] !== null && Number.isFinite(entry[1]))
    .map(([metric, value]) => ({
      ...windowRowBase(window, computedAt),
      metric,
      value,
      labelled: performance.labelled,
      predictions: performance.predictions,
    }));
}
