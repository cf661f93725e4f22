import type { CompactPrediction, GroundTruthRecord, PredictionRecord, RequestOutcome } from './events.js';

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
    shadow_of: record.shadowOf ?? null,
    entity_id: record.entityId ?? null,
  };
}

/**
 * A prediction record in the compact form of a predictions message (CompactPrediction): model, version and
 * source left to the message, trailing absent links left off.
 */
export function compactPrediction(record: PredictionRecord): CompactPrediction {
  const { predictionId, requestTime, latencyMs, features, outputs, shadowOf, entityId } = record;
  if (entityId !== undefined) return [predictionId, requestTime, latencyMs, features, outputs, shadowOf ?? null, entityId];
  if (shadowOf !== undefined) return [predictionId, requestTime, latencyMs, features, outputs, shadowOf];
  return [predictionId, requestTime, latencyMs, features, outputs];
}

/** A ground-truth record as a `ground_truth` table row. */
export function groundTruthRow(record: GroundTruthRecord): Record<string, unknown> {
  return { prediction_id: record.predictionId, label: record.label ?? null, value: record.value ?? null, observed_time: record.observedTime };
}

/** A count of refused or failed requests as a `request_outcomes` table row. */
export function requestOutcomeRow(outcome: RequestOutcome): Record<string, unknown> {
  const { model, version, minute, status, code, instance, count } = outcome;
  return { model, version, minute, status, code, instance, count };
}

/** What the records of one scored batch share. */
export interface PredictionBatch {
  model: string;
  version: number;
  requestTime: string;
  latencyMs: number;
  source: PredictionRecord['source'];
}

/**
 * The prediction records of one scored batch: one per instance, sharing model, version, time and
 * source. `shadowOf`, on a shadow's batch, holds the production prediction id each instance copies;
 * `entityIds`, on a request that named entities, the entity each instance's online features came from.
 */
export function predictionRecords(
  batch: PredictionBatch,
  ids: string[],
  features: Record<string, unknown>[],
  outputs: Record<string, unknown>[],
  shadowOf?: readonly (string | undefined)[],
  entityIds?: readonly string[],
): PredictionRecord[] {
  const { model, version, requestTime, latencyMs, source } = batch;
  const records = new Array<PredictionRecord>(ids.length);
  // Written out rather than spread: one object literal of a fixed shape per record, on the serving hot path.
  for (let index = 0; index < ids.length; index++) {
    records[index] = { model, version, requestTime, latencyMs, source, predictionId: ids[index]!, features: features[index]!, outputs: outputs[index]! };
  }
  if (shadowOf) linkShadows(records, shadowOf);
  if (entityIds) for (let index = 0; index < records.length; index++) records[index]!.entityId = entityIds[index];
  return records;
}

function linkShadows(records: PredictionRecord[], shadowOf: readonly (string | undefined)[]): void {
  for (let index = 0; index < records.length; index++) {
    const id = shadowOf[index];
    if (id) records[index]!.shadowOf = id;
  }
}
