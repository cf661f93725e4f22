import { createHash } from 'node:crypto';
import { isPlatformError } from '../domain/errors.js';
import type { PredictionRecord } from '../domain/events.js';
import { predictionRecords, predictionRow } from '../domain/prediction-rows.js';
import { type InputPlan, planInputs } from '../domain/serving/input-plan.js';
import { decodeInstances, outputsPerInstance } from '../domain/serving/predict-codec.js';
import { type EntityRange, rangeConditions, rangeParams } from '../domain/warehouse-scoring.js';
import type { Warehouse } from '../ports/warehouse.port.js';
import type { ServingModel } from './serving-model.js';

/** Outcome of one batch scoring run. */
export interface BatchScoringReport {
  model: string;
  version: number;
  dataset: string;
  rowsScored: number;
  rowsSkipped: number;
  /** Highest resident set size seen during the run, in bytes. */
  peakRssBytes: number;
}

/** Options of a run. */
export interface ScoreBatchOptions {
  dataset: string;
  warehouse: Warehouse;
  model: ServingModel;
  /** Rows read, scored and written at a time: memory is bounded by this, not by the dataset. */
  pageSize?: number;
  /** Score only the rows whose entity_id is in `[from, to)`: one shard of a fanned-out run. */
  range?: EntityRange;
  onProgress?: (rowsScored: number) => void;
}

type FeatureRow = {
  entity_id: string;
  event_time: string;
  features: Record<string, unknown>;
};

// Keyset pagination: each page starts after the last (entity, time) of the one before, so the
// same SQL streams a dataset of any size in BigQuery and DuckDB alike. Times come back in milliseconds
// but are stored in microseconds: the next page starts at the next millisecond, or the last row would
// be read again (a later row of the same entity in the same millisecond has the same prediction id).
const pageSql = (range: EntityRange | undefined) => `SELECT entity_id, event_time, features FROM {{offline_features}}
WHERE dataset_id = @dataset AND (entity_id > @entity OR (entity_id = @entity AND event_time >= @time))${rangeConditions(range)}
ORDER BY entity_id, event_time LIMIT @limit`;

/**
 * Scores every row of an offline_features dataset with one model version and writes the
 * predictions marked `batch`. Prediction ids derive from (model, version, dataset, entity,
 * time), so re-running the same job, or a redelivered request, writes no duplicates.
 */
export async function scoreBatch({ dataset, warehouse, model, pageSize = 5000, range, onProgress }: ScoreBatchOptions): Promise<BatchScoringReport> {
  const { version, loaded } = model;
  const sql = pageSql(range);
  const bounds = rangeParams(range);
  const plan = planInputs(loaded.signature, loaded.metadata, version.tags);
  const report: BatchScoringReport = {
    model: version.model,
    version: version.version,
    dataset,
    rowsScored: 0,
    rowsSkipped: 0,
    peakRssBytes: process.memoryUsage.rss(),
  };
  let after = { entity: '', time: new Date(0) };
  for (;;) {
    const page = await warehouse.query<FeatureRow>(sql, { dataset, entity: after.entity, time: after.time, limit: pageSize, ...bounds });
    if (page.length === 0) break;
    const records = await scorePage(model, plan, dataset, page).catch((error) => {
      if (!isPlatformError(error, 'MODEL.INVALID_INPUT')) throw error;
      // Only now pay for row-by-row checks: rows the model cannot take are skipped and counted.
      const scorable = page.filter((row) => scorableRow(plan, row));
      report.rowsSkipped += page.length - scorable.length;
      return scorable.length > 0 ? scorePage(model, plan, dataset, scorable) : [];
    });
    if (records.length > 0) await warehouse.insert('predictions', records.map(predictionRow));
    report.rowsScored += records.length;
    const last = page.at(-1)!;
    after = { entity: last.entity_id, time: new Date(Date.parse(last.event_time) + 1) };
    report.peakRssBytes = Math.max(report.peakRssBytes, process.memoryUsage.rss());
    onProgress?.(report.rowsScored);
    if (page.length < pageSize) break;
  }
  return report;
}

async function scorePage({ version, loaded }: ServingModel, plan: InputPlan, dataset: string, rows: FeatureRow[]): Promise<PredictionRecord[]> {
  const started = performance.now();
  const { inputs, count, features } = decodeInstances(plan, { instances: rows.map((row) => row.features) }, { maxBatch: rows.length });
  const outputs = outputsPerInstance(loaded.signature, await loaded.run(inputs), count);
  const latencyMs = (performance.now() - started) / count;
  const requestTime = new Date().toISOString();
  const ids = rows.map((row) => batchPredictionId(version.model, version.version, dataset, row));
  return predictionRecords({ model: version.model, version: version.version, requestTime, latencyMs, source: 'batch' }, ids, features, outputs);
}

/** A row the model can take; others are skipped and counted rather than failing the run. */
function scorableRow(plan: InputPlan, row: FeatureRow): boolean {
  try {
    decodeInstances(plan, { instances: [row.features] }, { maxBatch: 1 });
    return true;
  } catch {
    return false;
  }
}

/** A batch row's prediction id; `batchPredictionIdSql` (domain/warehouse-scoring.ts) computes the same in SQL. */
export function batchPredictionId(model: string, version: number, dataset: string, row: Pick<FeatureRow, 'entity_id' | 'event_time'>): string {
  return `batch-${createHash('sha256').update(`${model}\u0000${version}\u0000${dataset}\u0000${row.entity_id}\u0000${row.event_time}`).digest('hex').slice(0, 32)}`;
}
