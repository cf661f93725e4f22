import { z } from 'zod';
import { type ErrorCode, PlatformError } from './errors.js';

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

/**
 * Validates an event at the point it enters. A schema failure is permanent (EVENT.INVALID):
 * redelivering the same bytes can never succeed, so the handler dead-letters it.
 */
export function parseEvent<T>(schema: z.ZodType<T>, data: unknown, what: string): T {
  return parseWith(schema, data, 'EVENT.INVALID', `${what} event`);
}

/** Validates data against its schema, or refuses it with `code`, naming every problem (and listing them in details.issues). */
export function parseWith<T>(schema: z.ZodType<T>, data: unknown, code: ErrorCode, what: string): T {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
  throw new PlatformError(code, `Invalid ${what}: ${problems}`, { details: { issues: result.error.issues } });
}

/** One served prediction, as logged to the predictions topic and the predictions table. */
export const PredictionRecord = z.object({
  predictionId: z.string().min(1).max(200),
  model: z.string(),
  version: z.number().int().positive(),
  requestTime: z.string(),
  features: z.record(z.string(), z.unknown()),
  outputs: z.record(z.string(), z.unknown()),
  latencyMs: z.number().nonnegative().nullable(),
  source: z.enum(['online', 'batch']),
});
export type PredictionRecord = z.infer<typeof PredictionRecord>;

/** A batch of predictions: serving publishes many per message to keep Pub/Sub calls off the hot path. */
export const PredictionsLogged = z.object({
  schemaVersion: z.literal(1),
  predictions: z.array(PredictionRecord).min(1),
});
export type PredictionsLogged = z.infer<typeof PredictionsLogged>;

/** One observed outcome for a prediction: a class label for classifiers or a value for regressors. */
export const GroundTruthRecord = z
  .object({
    predictionId: z.string().min(1).max(200),
    label: z.union([z.string(), z.number(), z.boolean()]).transform(String).optional(),
    value: z.number().finite().optional(),
    observedTime: z.string().datetime({ offset: true }),
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
