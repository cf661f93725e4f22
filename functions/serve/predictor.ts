import { randomUUID } from 'node:crypto';
import { isPlatformError, PlatformError } from '../../shared/domain/errors.js';
import type { PredictionRecord } from '../../shared/domain/events.js';
import type { Tensor } from '../../shared/domain/model-signature.js';
import { namesEntities, notOnline, readEntityRequest, withOnlineFeatures } from '../../shared/domain/online-features.js';
import { predictionRecords } from '../../shared/domain/prediction-rows.js';
import type { ModelVersion } from '../../shared/domain/registry.js';
import { decodeInferRequest, encodeInferResponse } from '../../shared/domain/serving/open-inference.js';
import { type InputPlan, planInputs } from '../../shared/domain/serving/input-plan.js';
import { decodeInstances, outputsPerInstance, predictionsAndLogged } from '../../shared/domain/serving/predict-codec.js';
import type { ServingMetrics } from '../../shared/http/metrics.js';
import type { LoadedModel } from '../../shared/ports/model-runner.port.js';
import type { OnlineFeatureReader } from '../../shared/ports/online-feature-store.port.js';
import { MicroBatcher, type MicroBatchOptions } from '../../shared/services/micro-batcher.js';
import type { PredictionLog } from '../../shared/services/prediction-log.js';

/** What a predictor is built from: one loaded version, its limits, and where it reports. */
export interface PredictorOptions {
  version: ModelVersion;
  loaded: LoadedModel;
  plan: InputPlan;
  metrics: ServingMetrics;
  predictionLog?: PredictionLog;
  maxBatch: number;
  batching: MicroBatchOptions;
  /** `shadow` on a shadow revision: its predictions are logged as copies of production's, not as answers to clients. */
  source?: 'online' | 'shadow';
  /** Where `entity_ids` are looked up: the version's online dataset (its features.online tag) and the store's reader. */
  onlineFeatures?: OnlineFeatures;
}

/** A version's online features: the dataset it names and the reader that looks its entities up. */
export interface OnlineFeatures {
  dataset: string;
  reader: OnlineFeatureReader;
}

/** The answer to `POST /predict`. */
export interface PredictAnswer {
  predictions: unknown[];
  model: string;
  version: number;
  ids: string[];
}

/** Coalescing is on by default: requests read in the same turn of the event loop share a model run. */
export const DEFAULT_BATCHING: MicroBatchOptions = { enabled: true, maxRows: 256, maxWaitMs: 0 };

/**
 * The work of a prediction request, whichever server read it: decode the body (a 4xx naming the
 * fault), run the model (coalesced with concurrent requests), give each instance an id, log the
 * predictions and shape the answer.
 */
export class Predictor {
  readonly batcher: MicroBatcher;
  private readonly name: string;
  private readonly number: number;
  /** The keys a looked-up row gives an instance: the model's object keys and log names. */
  private readonly featureKeys: readonly string[];

  constructor(private readonly options: PredictorOptions) {
    const { version, loaded, plan, batching } = options;
    this.name = version.model;
    this.number = version.version;
    // A model with a fixed batch size takes exactly that many rows a run, so its requests cannot be stacked.
    this.batcher = new MicroBatcher(loaded, { ...batching, enabled: batching.enabled && plan.fixedBatch === undefined });
    this.featureKeys = [...new Set([...plan.fields.map((field) => field.key), ...plan.slots.map((slot) => slot.name)])];
  }

  /**
   * `{"instances": [...]}` to `{predictions, model, version, ids}`. On a shadow, `shadowOf` holds the
   * production prediction id of each instance (see shadowIdsOf). A body naming `entity_ids` takes
   * {@link predictEntities}; every other body pays one property read for it.
   */
  async predict(body: unknown, shadowOf?: readonly (string | undefined)[]): Promise<PredictAnswer> {
    const requestTime = new Date().toISOString();
    if (namesEntities(body)) return this.predictEntities(requestTime, body, shadowOf);
    const { plan, maxBatch, loaded } = this.options;
    const { inputs, count, features } = decodeInstances(plan, body, { maxBatch });
    const { outputs, latencyMs } = await this.batcher.run(inputs, count);
    const ids = newIds(count);
    const { predictions, logged } = predictionsAndLogged(loaded.signature, outputs, count);
    this.log(requestTime, latencyMs, ids, features, logged, shadowOf);
    return { predictions, model: this.name, version: this.number, ids };
  }

  /**
   * `{"entity_ids": [...], "instances"?: [...]}`: each entity's features looked up in the online store in one read,
   * overridden by the instance sent for it, then predicted and logged with the entity id like any instance.
   */
  private async predictEntities(requestTime: string, body: unknown, shadowOf: readonly (string | undefined)[] | undefined): Promise<PredictAnswer> {
    const { plan, maxBatch, loaded, onlineFeatures } = this.options;
    if (!onlineFeatures) throw notOnline(this.name, this.number);
    const request = readEntityRequest(body, maxBatch);
    const found = await onlineFeatures.reader.read(onlineFeatures.dataset, request.entityIds);
    const instances = withOnlineFeatures(request, found, this.featureKeys, onlineFeatures.dataset);
    const { inputs, count, features } = decodeMerged(plan, instances, maxBatch, onlineFeatures.dataset);
    const { outputs, latencyMs } = await this.batcher.run(inputs, count);
    const ids = newIds(count);
    const { predictions, logged } = predictionsAndLogged(loaded.signature, outputs, count);
    this.log(requestTime, latencyMs, ids, features, logged, shadowOf, request.entityIds);
    return { predictions, model: this.name, version: this.number, ids };
  }

  /** An Open Inference Protocol request body to its response body; `shadowOf` as for {@link predict}. */
  async infer(body: unknown, shadowOf?: readonly (string | undefined)[]): Promise<Record<string, unknown>> {
    const requestTime = new Date().toISOString();
    const { plan, maxBatch, loaded } = this.options;
    const request = decodeInferRequest(loaded.signature, body, { maxBatch, plan });
    const { outputs, latencyMs } = await this.batcher.run(request.inputs, request.count);
    const ids = newIds(request.count);
    this.log(requestTime, latencyMs, ids, request.features, outputsPerInstance(loaded.signature, outputs, request.count), shadowOf);
    const response = encodeInferResponse({
      modelName: this.name,
      modelVersion: String(this.number),
      id: request.id,
      outputs: outputs as Record<string, Tensor>,
      signature: loaded.signature,
      requestedOutputs: request.requestedOutputs,
    });
    return { ...response, parameters: { prediction_ids: ids } };
  }

  private log(
    requestTime: string,
    latencyMs: number,
    ids: string[],
    features: Record<string, unknown>[],
    outputs: Record<string, unknown>[],
    shadowOf: readonly (string | undefined)[] | undefined,
    entityIds?: readonly string[],
  ): void {
    this.options.metrics.instancesPredicted += ids.length;
    const records: PredictionRecord[] = predictionRecords(
      // Microseconds are all a latency figure means; the rest of a double's digits would only lengthen every record.
      { model: this.name, version: this.number, requestTime, latencyMs: Math.round(latencyMs * 1000) / 1000, source: this.options.source ?? 'online' },
      ids,
      features,
      outputs,
      shadowOf,
      entityIds,
    );
    this.options.predictionLog?.log(records);
  }
}

/**
 * The input plan of a loaded model: how request values map to its tensors. The version's tags say whether
 * its float inputs take missing values (inputs.missing=nan); without the version only the model's metadata can.
 */
export function inputPlanOf(loaded: LoadedModel, version?: Pick<ModelVersion, 'tags'>): InputPlan {
  return planInputs(loaded.signature, loaded.metadata, version?.tags);
}

/** The longest id a prediction record takes (PredictionRecord.shadowOf); a longer one would fail the whole message at ingest. */
const MAX_ID_LENGTH = 200;

/**
 * The production prediction ids a shadow's request copies, from the x-mlops-shadow-of header (ids
 * comma-separated, one per instance, in order): an empty list without the header, and no id where
 * one is empty or too long, so a malformed header never costs the shadow its answer or its log.
 */
export function shadowIdsOf(header: string | null | undefined): (string | undefined)[] {
  if (!header) return [];
  return header.split(',').map((id) => {
    const trimmed = id.trim();
    return trimmed.length > 0 && trimmed.length <= MAX_ID_LENGTH ? trimmed : undefined;
  });
}

/** The merged instances decoded; a refusal says that instance i holds the online features of entity_ids[i]. */
function decodeMerged(plan: InputPlan, instances: Record<string, unknown>[], maxBatch: number, dataset: string) {
  try {
    return decodeInstances(plan, { instances }, { maxBatch });
  } catch (error) {
    if (!isPlatformError(error, 'MODEL.INVALID_INPUT')) throw error;
    throw new PlatformError(
      'MODEL.INVALID_INPUT',
      `With the online features of dataset "${dataset}" (instances[i] is entity_ids[i]'s stored row, overridden by the instance sent): ${error.message}`,
      { cause: error },
    );
  }
}

function newIds(count: number): string[] {
  const ids = new Array<string>(count);
  for (let index = 0; index < count; index++) ids[index] = randomUUID();
  return ids;
}
