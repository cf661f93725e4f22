import type { Context } from 'hono';
import { z } from 'zod';
import { type ErrorCode, isPlatformError } from '../../../shared/domain/errors.js';
import type { PromotionPolicy } from '../../../shared/domain/registry.js';
import { parseJsonBytes } from '../../../shared/http/json.js';
import type { ArtifactStore } from '../../../shared/ports/artifact-store.port.js';
import type { EventBus } from '../../../shared/ports/event-bus.port.js';
import type { LoggedModelStore } from '../../../shared/ports/logged-model-store.port.js';
import type { ModelRegistry } from '../../../shared/ports/model-registry.port.js';
import type { TrackingStore } from '../../../shared/ports/tracking-store.port.js';

/** Where MLflow's REST API lives on the tracking function. */
export const MLFLOW_API = '/api/2.0/mlflow';
/** Where MLflow's artifact proxy lives on the tracking function. */
export const MLFLOW_ARTIFACTS_API = '/api/2.0/mlflow-artifacts';

/** MLflow's error codes we answer with (mlflow/protos/databricks.proto). */
export type MlflowErrorCode =
  | 'RESOURCE_DOES_NOT_EXIST'
  | 'RESOURCE_ALREADY_EXISTS'
  | 'INVALID_PARAMETER_VALUE'
  | 'INVALID_STATE'
  | 'BAD_REQUEST'
  | 'UNAUTHENTICATED'
  | 'ENDPOINT_NOT_FOUND'
  | 'NOT_IMPLEMENTED'
  | 'TEMPORARILY_UNAVAILABLE'
  | 'INTERNAL_ERROR';

/**
 * The HTTP status of each code, as mlflow/exceptions.py maps it, but for INVALID_STATE: MLflow
 * answers it with 500, which its client retries for minutes; a refusal that cannot change on retry
 * (a promotion the policy refuses, an ended run) is a 400 here, so the client fails at once.
 */
const STATUS_BY_MLFLOW_CODE: Record<MlflowErrorCode, number> = {
  RESOURCE_DOES_NOT_EXIST: 404,
  RESOURCE_ALREADY_EXISTS: 400,
  INVALID_PARAMETER_VALUE: 400,
  INVALID_STATE: 400,
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  ENDPOINT_NOT_FOUND: 404,
  NOT_IMPLEMENTED: 501,
  TEMPORARILY_UNAVAILABLE: 503,
  INTERNAL_ERROR: 500,
};

/** Our codes by the MLflow code they answer with; any other `*NOT_FOUND` is RESOURCE_DOES_NOT_EXIST. */
const MLFLOW_CODE_BY_CODE: Partial<Record<ErrorCode, MlflowErrorCode>> = {
  'AUTH.REQUIRED': 'UNAUTHENTICATED',
  'REQUEST.INVALID': 'INVALID_PARAMETER_VALUE',
  'REQUEST.TOO_LARGE': 'BAD_REQUEST',
  'REQUEST.UNSUPPORTED_MEDIA_TYPE': 'BAD_REQUEST',
  'REQUEST.METHOD_NOT_ALLOWED': 'ENDPOINT_NOT_FOUND',
  'REQUEST.NOT_FOUND': 'ENDPOINT_NOT_FOUND',
  'NAME.INVALID': 'INVALID_PARAMETER_VALUE',
  'MODEL.INVALID_INPUT': 'INVALID_PARAMETER_VALUE',
  'MODEL.INVALID_METADATA': 'INVALID_PARAMETER_VALUE',
  'MODEL.LOAD_FAILED': 'INVALID_PARAMETER_VALUE',
  'TRACKING.INVALID_FILTER': 'INVALID_PARAMETER_VALUE',
  'TRACKING.INVALID_VALUE': 'INVALID_PARAMETER_VALUE',
  'TRACKING.PARAM_CONFLICT': 'INVALID_PARAMETER_VALUE',
  'TRACKING.RUN_ENDED': 'INVALID_STATE',
  'REGISTRY.PROMOTION_REFUSED': 'INVALID_STATE',
  'REGISTRY.VERSION_NOT_READY': 'INVALID_STATE',
  'REGISTRY.NOTHING_TO_ROLL_BACK': 'INVALID_STATE',
  'REGISTRY.REGISTRATION_TIMEOUT': 'TEMPORARILY_UNAVAILABLE',
  'EVENT.REPLY_TIMEOUT': 'TEMPORARILY_UNAVAILABLE',
};

const INTERNAL_MESSAGE = 'Internal error; see the function logs.';

/** An error answered with MLflow's own code, for what only the MLflow routes refuse. */
export class MlflowError extends Error {
  constructor(
    readonly errorCode: MlflowErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MlflowError';
  }
}

/** What an MLflow error answer holds: `error_code` is what MLflow's client raises its MlflowException with. */
export interface MlflowErrorBody {
  error_code: MlflowErrorCode;
  message: string;
}

/**
 * The answer to any thrown error: an MlflowError as is, a PlatformError by its code (every
 * `*NOT_FOUND` is RESOURCE_DOES_NOT_EXIST), anything else INTERNAL_ERROR 500 whose message stays in the logs.
 */
export function mlflowErrorResponse(error: unknown): { status: number; body: MlflowErrorBody } {
  const known = knownError(error);
  if (!known) return { status: 500, body: { error_code: 'INTERNAL_ERROR', message: INTERNAL_MESSAGE } };
  return { status: STATUS_BY_MLFLOW_CODE[known.code], body: { error_code: known.code, message: known.message } };
}

function knownError(error: unknown): { code: MlflowErrorCode; message: string } | undefined {
  if (error instanceof MlflowError) return { code: error.errorCode, message: error.message };
  if (!isPlatformError(error)) return undefined;
  const code = MLFLOW_CODE_BY_CODE[error.code] ?? (error.code.endsWith('NOT_FOUND') ? 'RESOURCE_DOES_NOT_EXIST' : undefined);
  return code && { code, message: error.message };
}

/**
 * The request as MLflow's client sends it: the JSON body for POST, PATCH and DELETE, the query
 * string for GET (a repeated key becomes an array; see {@link Repeated}). A request that does not fit
 * the schema is INVALID_PARAMETER_VALUE naming each field and what was wrong with it.
 */
export async function readMlflowRequest<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
  const data = c.req.method === 'GET' ? queryOf(new URL(c.req.url).searchParams) : await bodyOf(c);
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ');
  throw new MlflowError('INVALID_PARAMETER_VALUE', `Invalid ${c.req.method} ${c.req.path} request: ${problems}.`);
}

function queryOf(params: URLSearchParams): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    query[key] = values.length === 1 ? values[0]! : values;
  }
  return query;
}

async function bodyOf(c: Context): Promise<unknown> {
  try {
    return parseJsonBytes(new Uint8Array(await c.req.arrayBuffer()), { allowEmpty: true });
  } catch (error) {
    throw new MlflowError('BAD_REQUEST', (error as Error).message);
  }
}

/** zod for an int64 field: a JSON number or a decimal string (proto3 JSON writes int64 as either). */
export const Int64: z.ZodType<number> = z
  .union([
    z.number().int(),
    z
      .string()
      .regex(/^-?\d+$/, 'expected a whole number')
      .transform(Number),
  ])
  .refine(Number.isSafeInteger, 'expected a whole number within ±2^53');

/**
 * zod for a repeated field: an array, or the one string a query string holds when the client sent
 * a single value (`?experiment_ids=1`).
 */
export function Repeated<T extends z.ZodType>(item: T): z.ZodType<z.output<T>[], unknown> {
  return z.preprocess((value) => (typeof value === 'string' ? [value] : value), z.array(item)) as unknown as z.ZodType<z.output<T>[], unknown>;
}

/** A record as MLflow's `[{key, value}]` list, in key order. */
export function keyValues(record: Record<string, string>): { key: string; value: string }[] {
  return Object.keys(record)
    .sort()
    .map((key) => ({ key, value: record[key]! }));
}

/** MLflow's `[{key, value}]` list as a record; a later entry of the same key wins. */
export function recordOf(list: { key: string; value: string }[] | undefined): Record<string, string> {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, value]));
}

/**
 * One page of `items` from the offset `pageToken` names (base64 of the offset); the next token is
 * set only when more items follow. A token this did not make is INVALID_PARAMETER_VALUE.
 */
export function pageOf<T>(items: T[], maxResults: number, pageToken: string | undefined): { items: T[]; nextPageToken?: string } {
  const offset = pageToken ? offsetOf(pageToken) : 0;
  const page = items.slice(offset, offset + maxResults);
  const next = offset + page.length;
  return next < items.length ? { items: page, nextPageToken: Buffer.from(String(next)).toString('base64') } : { items: page };
}

function offsetOf(pageToken: string): number {
  const text = Buffer.from(pageToken, 'base64').toString('utf8');
  if (!/^\d{1,9}$/.test(text)) {
    throw new MlflowError(
      'INVALID_PARAMETER_VALUE',
      `Invalid page_token ${JSON.stringify(pageToken)}: pass the next_page_token of the previous answer, or none for the first page.`,
    );
  }
  return Number(text);
}

/** Everything the MLflow routes are built from. */
export interface MlflowDeps {
  tracking: () => Promise<TrackingStore>;
  artifacts: () => Promise<ArtifactStore>;
  registry: () => Promise<ModelRegistry>;
  loggedModels: () => Promise<LoggedModelStore>;
  bus: () => EventBus;
  policy: PromotionPolicy;
  /** How long model-versions/create waits for register-model (default 50_000 ms). */
  registrationTimeoutMs?: number;
}
