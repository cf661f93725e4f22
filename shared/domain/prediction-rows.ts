import type { GroundTruthRecord, PredictionRecord } from './events.js';

/** A prediction record as a `predictions` table row. */
export function predictionRow(record: PredictionRecord): Record<string, unknown> {
  return {
    prediction_id: record.predictionId,
    model: record.model,
    version: record.version,
    request_time: record.requestTime,
    features: record.features,
    outputs: record.outputs,
    latency_ms: record.latencyMs,
    source: record.source,
  };
}

/** A ground-truth record as a `ground_truth` table row. */
export function groundTruthRow(record: GroundTruthRecord): Record<string, unknown> {
  return { prediction_id: record.predictionId, label: record.label ?? null, value: record.value ?? null, observed_time: record.observedTime };
}

/** The prediction records of one scored batch: one per instance, sharing model, version, time and source. */
export function predictionRecords(
  batch: { model: string; version: number; requestTime: string; latencyMs: number; source: PredictionRecord['source'] },
  ids: string[],
  features: Record<string, unknown>[],
  outputs: Record<string, unknown>[],
): PredictionRecord[] {
  const { model, version, requestTime, latencyMs, source } = batch;
  const records = new Array<PredictionRecord>(ids.length);
  // Written out rather than spread: one object literal of a fixed shape per record, on the serving hot path.
  for (let index = 0; index < ids.length; index++) {
    records[index] = { model, version, requestTime, latencyMs, source, predictionId: ids[index]!, features: features[index]!, outputs: outputs[index]! };
  }
  return records;
}
