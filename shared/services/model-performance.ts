import type { PredictionWindow } from '../domain/drift/drift-queries.js';
import { monitoringDialect } from '../domain/drift/sql-dialect.js';
import {
  binaryScoresQuery,
  type ClassRow,
  classCountsQuery,
  classificationMetrics,
  type Performance,
  performanceQuery,
  positiveClass,
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
};

const numberOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/**
 * Classification (accuracy, precision, recall, F1, ROC AUC, log loss) and regression (MAE, RMSE, R²)
 * metrics of a version's window, over the predictions that have ground truth, with the sample counts.
 */
export async function measurePerformance(warehouse: Warehouse, window: PredictionWindow): Promise<Performance> {
  const dialect = monitoringDialect(warehouse.dialect);
  const query = performanceQuery(dialect, window);
  const [raw] = await warehouse.query(query.sql, query.params);
  const row = Object.fromEntries(Object.entries(raw ?? {}).map(([name, value]) => [name, numberOrNull(value)])) as Aggregates;
  const predictions = row.predictions ?? 0;
  const labelled = row.labelled ?? 0;
  const metrics: Record<string, number | null> = { labelled_share: predictions > 0 ? labelled / predictions : null };
  if (row.classified > 0) Object.assign(metrics, await classification(warehouse, window, row));
  if (row.regressed > 0) {
    const totalSquares = (row.var_actual ?? 0) * row.regressed;
    Object.assign(metrics, {
      mae: row.mae,
      rmse: row.mse === null ? null : Math.sqrt(row.mse),
      r2: totalSquares > 0 && row.ss_res !== null ? 1 - row.ss_res / totalSquares : null,
    });
  }
  return { predictions, labelled, metrics };
}

async function classification(warehouse: Warehouse, window: PredictionWindow, row: Aggregates): Promise<Record<string, number | null>> {
  const dialect = monitoringDialect(warehouse.dialect);
  const classQuery = classCountsQuery(dialect, window);
  const classes = (await warehouse.query<ClassRow>(classQuery.sql, classQuery.params)).map((found) => ({
    class_label: String(found.class_label),
    tp: Number(found.tp),
    fp: Number(found.fp),
    fn: Number(found.fn),
  }));
  const metrics: Record<string, number | null> = { accuracy: row.correct / row.classified, ...classificationMetrics(classes) };
  if (positiveClass(classes.map((found) => found.class_label)) === undefined) return metrics;
  const scoresQuery = binaryScoresQuery(dialect, window);
  const [scores] = await warehouse.query(scoresQuery.sql, scoresQuery.params);
  const positives = Number(scores?.positives ?? 0);
  const negatives = Number(scores?.negatives ?? 0);
  if (positives + negatives === 0) return metrics;
  metrics.log_loss = Number(scores?.loss) / (positives + negatives);
  metrics.roc_auc = positives > 0 && negatives > 0 ? Number(scores?.concordant) / (positives * negatives) : null;
  return metrics;
}

/** model_performance rows: one per metric that has a value. */
export function performanceRows(performance: Performance, window: PredictionWindow, computedAt: string): Record<string, unknown>[] {
  return Object.entries(performance.metrics)
    .filter((entry): entry is [string, number] => entry[1] !== null && Number.isFinite(entry[1]))
    .map(([metric, value]) => ({
      model: window.model,
      version: window.version,
      metric,
      value,
      labelled: performance.labelled,
      predictions: performance.predictions,
      window_start: window.start.toISOString(),
      window_end: window.end.toISOString(),
      computed_at: computedAt,
    }));
}
