import { z } from 'zod';
import { parseWith } from './validation.js';

/** GCS's Pub/Sub notification payload (JSON_API_V1): the object resource, with what we read of it. */
export const GcsObjectNotification = z.object({
  kind: z.literal('storage#object').optional(),
  bucket: z.string().min(1),
  name: z.string().min(1),
  generation: z.string().regex(/^\d+$/),
  size: z.string().regex(/^\d+$/),
  md5Hash: z.string().optional(),
  contentType: z.string().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  timeCreated: z.string().optional(),
});
export type GcsObjectNotification = z.infer<typeof GcsObjectNotification>;

/** Published when a version is ready. */
export const ModelRegistered = z.object({
  schemaVersion: z.literal(1),
  model: z.string(),
  version: z.number().int().positive(),
  artifactUri: z.string(),
  sha256: z.string(),
  registeredAt: z.string(),
});
export type ModelRegistered = z.infer<typeof ModelRegistered>;

/** A request to move an alias, from the CLI, the HTTP API or any publisher. */
export const PromotionRequested = z.object({
  schemaVersion: z.literal(1),
  model: z.string(),
  version: z.number().int().positive().optional(),
  alias: z.string(),
  action: z.enum(['promote', 'rollback']).default('promote'),
  actor: z.string().default('unknown'),
  reason: z.string().default(''),
  requestId: z.string().min(1),
});
export type PromotionRequested = z.infer<typeof PromotionRequested>;

/** Published after an alias moved, so serving can follow it. */
export const ModelPromoted = z.object({
  schemaVersion: z.literal(1),
  model: z.string(),
  alias: z.string(),
  version: z.number().int().positive(),
  previousVersion: z.number().int().positive().nullable(),
  actor: z.string(),
  promotedAt: z.string(),
});
export type ModelPromoted = z.infer<typeof ModelPromoted>;

/** Published when a rollout started, moved a step, was paused, resumed or ended: serving converges on the registry's state. */
export const RolloutChanged = z.object({
  schemaVersion: z.literal(1),
  model: z.string(),
  rolloutId: z.string(),
  state: z.enum(['running', 'paused', 'promoted', 'rolled_back', 'completed', 'aborted']),
  stepIndex: z.number().int().nonnegative(),
  changedAt: z.string(),
});
export type RolloutChanged = z.infer<typeof RolloutChanged>;

/** A tick of the rollout analyser's schedule. */
export const RolloutTick = z.object({ trigger: z.string().default('schedule') }).passthrough();
export type RolloutTick = z.infer<typeof RolloutTick>;

/**
 * Validates an event at the point it enters. A schema failure is permanent (EVENT.INVALID):
 * redelivering the same bytes can never succeed, so the handler dead-letters it.
 */
export function parseEvent<T>(schema: z.ZodType<T>, data: unknown, what: string): T {
  return parseWith(schema, data, 'EVENT.INVALID', `${what} event`);
}

/** Where a prediction came from: a client's request, a batch scoring run, or a shadow revision's copy of a production request. */
export const PredictionSource = z.enum(['online', 'batch', 'shadow']);
export type PredictionSource = z.infer<typeof PredictionSource>;

/** One served prediction, as logged to the predictions topic and the predictions table. */
export const PredictionRecord = z.object({
  predictionId: z.string().min(1).max(200),
  model: z.string(),
  version: z.number().int().positive(),
  requestTime: z.string(),
  features: z.record(z.string(), z.unknown()),
  outputs: z.record(z.string(), z.unknown()),
  latencyMs: z.number().nonnegative().nullable(),
  source: PredictionSource,
  /** On a shadow's prediction: the id of the production prediction it copies, so the two answers can be joined. */
  shadowOf: z.string().min(1).max(200).optional(),
  /** When the request named entities (`entity_ids`): the entity whose online features this prediction used. */
  entityId: z.string().min(1).max(500).optional(),
});
export type PredictionRecord = z.infer<typeof PredictionRecord>;

/** A batch of predictions, each record whole. */
const PredictionsLoggedV1 = z.object({
  schemaVersion: z.literal(1),
  predictions: z.array(PredictionRecord).min(1),
});

/**
 * One prediction of a compact batch: `[predictionId, requestTime, latencyMs, features, outputs, shadowOf?, entityId?]`.
 * A prediction with an entity but no shadow link holds null in the 6th place (JSON has no undefined).
 */
export const CompactPrediction = z.tuple([
  PredictionRecord.shape.predictionId,
  PredictionRecord.shape.requestTime,
  PredictionRecord.shape.latencyMs,
  PredictionRecord.shape.features,
  PredictionRecord.shape.outputs,
  PredictionRecord.shape.shadowOf.unwrap().nullable().optional(),
  PredictionRecord.shape.entityId,
]);
export type CompactPrediction = z.infer<typeof CompactPrediction>;

/**
 * An instance's running count of one minute's refused or failed requests with one status and code:
 * `[minute (ISO, UTC, floored), status, code, count]`. The latest report of a count replaces the
 * earlier ones, so a redelivered or repeated report changes nothing.
 */
export const CompactOutcome = z.tuple([z.string().datetime(), z.number().int().min(400).max(599), z.string().min(1).max(100), z.number().int().nonnegative()]);
export type CompactOutcome = z.infer<typeof CompactOutcome>;

/** A count of refused or failed requests, as ingested into the request_outcomes table. */
export interface RequestOutcome {
  model: string;
  version: number;
  minute: string;
  status: number;
  code: string;
  instance: string;
  count: number;
}

/**
 * A batch of one model version's predictions from one source, each as a {@link CompactPrediction}:
 * what serving publishes. Without the field names and the model, version and source repeated in
 * every record it is about 40% smaller, which Pub/Sub bills by and the serving instance serialises.
 * It may carry, or carry only, the instance's counts of refused and failed requests.
 */
const PredictionsLoggedV2 = z
  .object({
    schemaVersion: z.literal(2),
    model: PredictionRecord.shape.model,
    version: PredictionRecord.shape.version,
    source: PredictionRecord.shape.source,
    predictions: z.array(CompactPrediction),
    /** The serving instance that counted `outcomes`: a random id fixed when its process started. */
    instance: z.string().min(1).max(200).optional(),
    outcomes: z.array(CompactOutcome).optional(),
  })
  .refine((message) => message.predictions.length > 0 || (message.outcomes?.length ?? 0) > 0, {
    message: 'needs predictions or outcomes',
    path: ['predictions'],
  })
  .refine((message) => message.outcomes === undefined || message.instance !== undefined, {
    message: 'outcomes need the instance that counted them',
    path: ['instance'],
  });

/** A parsed predictions message: whole records, and the request outcomes it carried (none in a v1 message). */
export interface PredictionsLoggedBatch {
  schemaVersion: 1;
  predictions: PredictionRecord[];
  outcomes?: RequestOutcome[];
}

/**
 * A batch of predictions: serving publishes many per message to keep Pub/Sub calls off the hot path.
 * Both forms are read (a message published by an older revision may still be delivered), as whole records.
 */
export const PredictionsLogged = z
  .discriminatedUnion('schemaVersion', [PredictionsLoggedV1, PredictionsLoggedV2])
  .transform((message): PredictionsLoggedBatch => {
    if (message.schemaVersion === 1) return message;
    const { model, version, source, predictions, instance, outcomes } = message;
    const batch: PredictionsLoggedBatch = {
      schemaVersion: 1,
      predictions: predictions.map(([predictionId, requestTime, latencyMs, features, outputs, shadowOf, entityId]) => {
        const record: PredictionRecord = { predictionId, model, version, requestTime, features, outputs, latencyMs, source };
        if (shadowOf != null) record.shadowOf = shadowOf;
        if (entityId !== undefined) record.entityId = entityId;
        return record;
      }),
    };
    if (outcomes && instance !== undefined) {
      batch.outcomes = outcomes.map(([minute, status, code, count]) => ({ model, version, minute, status, code, instance, count }));
    }
    return batch;
  });
export type PredictionsLogged = z.output<typeof PredictionsLogged>;
/** A predictions message as published, in either form. */
export type PredictionsLoggedMessage = z.input<typeof PredictionsLogged>;

/** Sensitive attributes sent with an outcome for fairness monitoring (`{"sex": "F"}`): a few short scalar values by name. */
export const GroundTruthAttributes = z
  .record(z.string().min(1).max(128), z.union([z.string().max(256), z.number().finite(), z.boolean()]))
  .refine((attributes) => Object.keys(attributes).length <= 32, { message: 'at most 32 attributes' });

/** One observed outcome for a prediction: a class label for classifiers or a value for regressors, with optional sensitive attributes. */
export const GroundTruthRecord = z
  .object({
    predictionId: z.string().min(1).max(200),
    label: z.union([z.string(), z.number(), z.boolean()]).transform(String).optional(),
    value: z.number().finite().optional(),
    observedTime: z.string().datetime({ offset: true }),
    attributes: GroundTruthAttributes.optional(),
  })
  .refine((record) => record.label !== undefined || record.value !== undefined, { message: 'needs a label or a value' });
export type GroundTruthRecord = z.infer<typeof GroundTruthRecord>;

/** A batch of ground truth on the ground-truth topic. */
export const GroundTruthReceived = z.object({ schemaVersion: z.literal(1), records: z.array(GroundTruthRecord).min(1) });
export type GroundTruthReceived = z.infer<typeof GroundTruthReceived>;

/** A request to score a dataset of offline features with a model's served version. */
export const BatchScoringRequested = z.object({
  schemaVersion: z.literal(1),
  requestId: z.string().min(1),
  model: z.string(),
  dataset: z.string().min(1),
  alias: z.string().default('production'),
  /** Scores this version rather than the alias's: every shard of a fanned-out run scores the same one. */
  version: z.number().int().positive().optional(),
  /** One shard of a fanned-out run: only entity ids in `[from, to)` (a null bound is open), shard `index` of `count`. */
  shard: z
    .object({ index: z.number().int().nonnegative(), count: z.number().int().positive(), from: z.string().nullable(), to: z.string().nullable() })
    .optional(),
});
export type BatchScoringRequested = z.infer<typeof BatchScoringRequested>;

/** The outcome of a batch scoring run, published on batch-scored. */
export const BatchScored = z.object({
  schemaVersion: z.literal(1),
  requestId: z.string(),
  model: z.string(),
  version: z.number().int().nullable(),
  dataset: z.string(),
  status: z.enum(['succeeded', 'failed']),
  rowsScored: z.number().int(),
  seconds: z.number(),
  error: z.string().optional(),
});
export type BatchScored = z.infer<typeof BatchScored>;
