/**
 * Stable error codes. Callers branch on `code`, never on message text; only the edges
 * (HTTP handlers, event handlers, the CLI) map them to status codes, acks or exit codes.
 */
export type ErrorCode =
  | 'CONFIG.INVALID'
  | 'EVENT.INVALID'
  | 'REQUEST.INVALID'
  | 'REQUEST.TOO_LARGE'
  | 'REQUEST.UNSUPPORTED_MEDIA_TYPE'
  | 'REQUEST.METHOD_NOT_ALLOWED'
  | 'REQUEST.NOT_FOUND'
  | 'NAME.INVALID'
  | 'MODEL.LOAD_FAILED'
  | 'MODEL.INVALID_INPUT'
  | 'MODEL.INVALID_METADATA'
  | 'REGISTRY.MODEL_NOT_FOUND'
  | 'REGISTRY.VERSION_NOT_FOUND'
  | 'REGISTRY.VERSION_NOT_READY'
  | 'REGISTRY.REGISTRATION_TIMEOUT'
  | 'REGISTRY.PROMOTION_REFUSED'
  | 'REGISTRY.NOTHING_TO_ROLL_BACK'
  | 'ARTIFACT.NOT_FOUND'
  | 'ARTIFACT.INTEGRITY'
  | 'WAREHOUSE.INVALID_ROW'
  | 'AUTH.REQUIRED'
  | 'TRACKING.EXPERIMENT_NOT_FOUND'
  | 'TRACKING.RUN_NOT_FOUND'
  | 'TRACKING.INVALID_FILTER'
  | 'TRACKING.PARAM_CONFLICT'
  | 'TRACKING.INVALID_VALUE'
  | 'TRACKING.RUN_ENDED'
  | 'FEATURES.INVALID_FILE'
  | 'FEATURES.UNKNOWN_ENTITY'
  | 'FEATURES.NOT_ONLINE'
  | 'FEATURES.LOOKUP_FAILED'
  | 'SERVING.NO_MODEL'
  | 'SERVING.DEPLOY_FAILED'
  | 'ROLLOUT.INVALID'
  | 'ROLLOUT.ALREADY_RUNNING'
  | 'ROLLOUT.NOT_FOUND'
  | 'MONITORING.INVALID_FEATURE'
  | 'MONITORING.FAILED'
  | 'BATCH.FAILED'
  | 'EXPLAIN.NO_BACKGROUND'
  | 'EXPLAIN.UNSUPPORTED'
  | 'EVENT.REPLY_TIMEOUT'
  | 'CLI.TIMEOUT'
  | 'CLI.UNEXPECTED_RESPONSE'
  | 'INTERNAL'
  | 'ALERT.WEBHOOK_REFUSED'
  | 'RETRAIN.INVALID_CONDITION'
  | 'RETRAIN.DELIVERY_FAILED'
  | 'RETRAIN.PUBLISH_PENDING'
  | 'WEBHOOK.INVALID'
  | 'WEBHOOK.NOT_FOUND'
  | 'WEBHOOK.DELIVERY_FAILED'
  | 'JOB.INVALID'
  | 'JOB.NOT_FOUND'
  | 'JOB.RUNNING'
  | 'JOB.FAILED';

/**
 * An expected failure with a stable code. `permanent` says whether retrying can ever help:
 * event handlers dead-letter permanent errors and rethrow the rest so Pub/Sub redelivers.
 */
export class PlatformError extends Error {
  readonly code: ErrorCode;
  readonly permanent: boolean;
  readonly details?: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    { permanent = true, cause, details }: { permanent?: boolean; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, { cause });
    this.name = 'PlatformError';
    this.code = code;
    this.permanent = permanent;
    this.details = details;
  }
}

/** True when `error` is a PlatformError, optionally with one of the given codes. */
export function isPlatformError(error: unknown, ...codes: ErrorCode[]): error is PlatformError {
  return error instanceof PlatformError && (codes.length === 0 || codes.includes(error.code));
}
