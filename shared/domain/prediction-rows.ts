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
