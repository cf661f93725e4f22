import type { Context, ErrorHandler, NotFoundHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { type ErrorCode, isPlatformError } from '../domain/errors.js';
import { log } from '../runtime/logger.js';

/**
 * HTTP status for each expected failure; anything unlisted is a 500. EVENT.INVALID is absent on
 * purpose: it names a malformed Pub/Sub payload, so one reaching an HTTP answer is our own bug.
 */
const STATUS_BY_CODE: Partial<Record<ErrorCode, ContentfulStatusCode>> = {
  'CONFIG.INVALID': 500,
  'REQUEST.INVALID': 400,
  'REQUEST.TOO_LARGE': 413,
  'REQUEST.UNSUPPORTED_MEDIA_TYPE': 415,
  'REQUEST.METHOD_NOT_ALLOWED': 405,
  'REQUEST.NOT_FOUND': 404,
  'NAME.INVALID': 400,
  'MODEL.INVALID_INPUT': 400,
  'MODEL.INVALID_METADATA': 400,
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
  'TRACKING.INVALID_VALUE': 400,
  'TRACKING.PARAM_CONFLICT': 409,
  'TRACKING.RUN_ENDED': 409,
  'FEATURES.INVALID_FILE': 400,
  'FEATURES.UNKNOWN_ENTITY': 400,
  'FEATURES.NOT_ONLINE': 400,
  // The online store did not answer: a retry may succeed.
  'FEATURES.LOOKUP_FAILED': 503,
  'MONITORING.INVALID_FEATURE': 400,
  'EXPLAIN.NO_BACKGROUND': 409,
  'EXPLAIN.UNSUPPORTED': 422,
  'SERVING.NO_MODEL': 503,
  'ROLLOUT.INVALID': 400,
  'ROLLOUT.ALREADY_RUNNING': 409,
  'ROLLOUT.NOT_FOUND': 404,
  'WEBHOOK.INVALID': 400,
  'WEBHOOK.NOT_FOUND': 404,
  'JOB.INVALID': 400,
  'JOB.NOT_FOUND': 404,
  'JOB.RUNNING': 409,
};

/** What every error answer of the platform's HTTP functions holds. */
export interface ErrorBody {
  error: string;
  code: ErrorCode;
  details?: Record<string, unknown>;
}

/** The OpenAPI schema of {@link ErrorBody}, for the API documents. */
export const ERROR_BODY_SCHEMA = {
  type: 'object',
  properties: { error: { type: 'string' }, code: { type: 'string' }, details: { type: 'object' } },
  required: ['error', 'code'],
} as const;

const INTERNAL_MESSAGE = 'Internal error; see the function logs.';

/** The HTTP status a thrown error maps to. */
export function statusOf(error: unknown): ContentfulStatusCode {
  return (isPlatformError(error) && STATUS_BY_CODE[error.code]) || 500;
}

/**
 * The one mapping from a thrown error to an HTTP answer. A typed error keeps its message (and, for
 * a client error, its details); anything else is a 500 INTERNAL whose message stays in the logs.
 */
export function errorResponse(error: unknown): { status: ContentfulStatusCode; body: ErrorBody } {
  const status = statusOf(error);
  if (!isPlatformError(error)) return { status, body: { error: INTERNAL_MESSAGE, code: 'INTERNAL' } };
  const body: ErrorBody = { error: error.message, code: error.code };
  if (error.details && status < 500) body.details = error.details;
  return { status, body };
}

/** Options of {@link errorHandler}. */
export interface ErrorHandlerOptions {
  /** Google Cloud project, so log entries carry the request's trace. */
  projectId?: string;
  /** Logs 4xx answers too (as WARNING); 5xx are always logged (as ERROR). */
  logRefusals?: boolean;
}

/** The Hono `onError` every HTTP app uses: answers with {@link errorResponse} and logs what failed. */
export function errorHandler(options: ErrorHandlerOptions = {}): ErrorHandler {
  return (error, c) => {
    const { status, body } = answerError(error, { method: c.req.method, path: c.req.path, traceHeader: c.req.header('x-cloud-trace-context') }, options);
    return c.json(body, status);
  };
}

/** What {@link answerError} logs a failed request by. */
export interface FailedRequest {
  method: string;
  path: string;
  /** The request's X-Cloud-Trace-Context header. */
  traceHeader?: string;
}

/** {@link errorResponse}, logged as {@link errorHandler} logs it: for a server that answers without Hono. */
export function answerError(
  error: unknown,
  request: FailedRequest,
  { projectId, logRefusals = false }: ErrorHandlerOptions = {},
): ReturnType<typeof errorResponse> {
  const answer = errorResponse(error);
  const { status, body } = answer;
  if (status >= 500 || logRefusals) {
    const trace = traceOf(request.traceHeader, projectId);
    log(status >= 500 ? 'ERROR' : 'WARNING', `${request.method} ${request.path} answered ${status}: ${(error as Error)?.message ?? String(error)}`, {
      trace,
      status,
      code: body.code,
      ...(status >= 500 ? { error } : {}),
    });
  }
  return answer;
}

/** The default error handler, for apps with no trace to attach. */
export const onError: ErrorHandler = errorHandler();

/** The Hono `notFound` handler: 404 REQUEST.NOT_FOUND naming the route, with an optional hint. */
export function notFound(hint?: string): NotFoundHandler {
  return (c: Context) => {
    const body: ErrorBody = { error: `No route ${c.req.method} ${c.req.path}.${hint ? ` ${hint}` : ''}`, code: 'REQUEST.NOT_FOUND' };
    return c.json(body, 404);
  };
}

/** The Cloud Logging trace name for an `X-Cloud-Trace-Context: TRACE/SPAN;o=1` header. */
function traceOf(header: string | undefined, projectId?: string): string | undefined {
  const traceId = header?.split('/')[0];
  return traceId && projectId ? `projects/${projectId}/traces/${traceId}` : undefined;
}
