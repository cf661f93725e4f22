import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { type ErrorCode, isPlatformError } from '../domain/errors.js';
import { log } from '../runtime/logger.js';

/** HTTP status for each expected failure; anything unlisted is a 500. */
const STATUS_BY_CODE: Partial<Record<ErrorCode, ContentfulStatusCode>> = {
  'CONFIG.INVALID': 500,
  'EVENT.INVALID': 400,
  'REQUEST.INVALID': 400,
  'REQUEST.TOO_LARGE': 413,
  'REQUEST.UNSUPPORTED_MEDIA_TYPE': 415,
  'REQUEST.METHOD_NOT_ALLOWED': 405,
  'NAME.INVALID': 400,
  'MODEL.INVALID_INPUT': 400,
  'REGISTRY.MODEL_NOT_FOUND': 404,
  'REGISTRY.VERSION_NOT_FOUND': 404,
  'REGISTRY.VERSION_NOT_READY': 409,
  'REGISTRY.PROMOTION_REFUSED': 409,
  'REGISTRY.NOTHING_TO_ROLL_BACK': 409,
  'ARTIFACT.NOT_FOUND': 404,
  'AUTH.REQUIRED': 401,
  'TRACKING.EXPERIMENT_NOT_FOUND': 404,
  'TRACKING.RUN_NOT_FOUND': 404,
  'TRACKING.INVALID_FILTER': 400,
  'TRACKING.PARAM_CONFLICT': 409,
};

/** The HTTP status a thrown error maps to. */
export function statusOf(error: unknown): ContentfulStatusCode {
  return (isPlatformError(error) && STATUS_BY_CODE[error.code]) || 500;
}

/** One central error handler: typed errors become `{error, code}` with their status; the rest a logged 500. */
export function onError(error: Error, c: Context): Response {
  const status = statusOf(error);
  if (status >= 500) log('ERROR', `${c.req.method} ${c.req.path} failed`, { error });
  const message = status >= 500 && !isPlatformError(error) ? 'Internal error; see the function logs.' : error.message;
  return c.json({ error: message, code: isPlatformError(error) ? error.code : 'INTERNAL' }, status);
}
