import { PlatformError } from './errors.js';

/** Where a logged model's files are: being uploaded, all uploaded, or the upload failed (MLflow's LoggedModelStatus). */
export const LOGGED_MODEL_STATUSES = ['LOGGED_MODEL_PENDING', 'LOGGED_MODEL_READY', 'LOGGED_MODEL_UPLOAD_FAILED'] as const;

/** A logged model's status. */
export type LoggedModelStatus = (typeof LOGGED_MODEL_STATUSES)[number];

/**
 * MLflow 3's LoggedModel: a model a run (or no run) logged to an experiment, whose files live at
 * `artifactLocation` rather than among the run's artifacts. Stored in Firestore `logged_models/{id}`.
 */
export interface LoggedModel {
  /** `m-` and 32 hex digits, as MLflow makes them. */
  id: string;
  experimentId: string;
  name: string;
  sourceRunId?: string;
  modelType?: string;
  status: LoggedModelStatus;
  statusMessage?: string;
  /** Immutable once set, as MLflow's model params. */
  params: Record<string, string>;
  tags: Record<string, string>;
  /** `mlflow-artifacts:/<experiment id>/models/<id>/artifacts`: where the client uploads the model's files. */
  artifactLocation: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  updatedAt: number;
}

/** What creating a logged model takes: the rest is given by the store. */
export type NewLoggedModel = Omit<LoggedModel, 'id' | 'createdAt' | 'updatedAt' | 'artifactLocation' | 'status'>;

/** A logged model a run produced (MLflow's runs/outputs), at a training step. */
export interface ModelOutput {
  modelId: string;
  step: number;
}

/** The logged models a run produced (`outputs`) and used (`inputs`: MLflow's runs/log-inputs). */
export interface RunModels {
  outputs: ModelOutput[];
  inputs: { modelId: string }[];
}

const MODEL_ID = /^m-[0-9a-f]{32}$/;
const ID = /^[A-Za-z0-9_-]{1,64}$/;
// MLflow refuses these in a logged model's name (mlflow/utils/validation.py `_validate_logged_model_name`).
const NAME_FORBIDDEN = /[/:.%"']/;

/** A new logged model id: `m-` and 32 hex digits, like MLflow's. */
export function newLoggedModelId(): string {
  return `m-${globalThis.crypto.randomUUID().replaceAll('-', '')}`;
}

/** Checks a logged model id: it becomes a Firestore document id and a bucket path segment. */
export function validateLoggedModelId(id: string): string {
  if (!MODEL_ID.test(id)) throw new PlatformError('NAME.INVALID', `Logged model id ${JSON.stringify(id)} is invalid: expected "m-" and 32 hex digits.`);
  return id;
}

/** Checks a logged model name: 1-250 characters, none of `/ : . % " '` (they would break `models:/` URIs). */
export function validateLoggedModelName(name: string): string {
  if (name.trim() === '' || name.length > 250 || NAME_FORBIDDEN.test(name)) {
    throw new PlatformError('NAME.INVALID', `Logged model name ${JSON.stringify(name)} is invalid: use 1-250 characters without / : . % " or '.`);
  }
  return name;
}

/** The artifact URI a logged model's files go to, the form MLflow's server answers: the proxy maps it to `logged-models/<id>/artifacts/`. */
export function loggedModelArtifactLocation(experimentId: string, id: string): string {
  if (!ID.test(experimentId))
    throw new PlatformError('NAME.INVALID', `Experiment id ${JSON.stringify(experimentId)} is invalid: expected letters, digits, "_" or "-".`);
  return `mlflow-artifacts:/${experimentId}/models/${validateLoggedModelId(id)}/artifacts`;
}

/** Checks a status a logged model may be finalized with. */
export function validateLoggedModelStatus(status: string): LoggedModelStatus {
  if (!(LOGGED_MODEL_STATUSES as readonly string[]).includes(status)) {
    throw new PlatformError('TRACKING.INVALID_VALUE', `Logged model status ${JSON.stringify(status)} is invalid: use ${LOGGED_MODEL_STATUSES.join(', ')}.`);
  }
  return status as LoggedModelStatus;
}

/** Adds params to a logged model's, refusing to change one already set: model params are immutable, as in MLflow. */
export function mergeModelParams(model: Pick<LoggedModel, 'id' | 'params'>, next: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(next)) {
    const existing = model.params[key];
    if (existing !== undefined && existing !== value) {
      throw new PlatformError(
        'TRACKING.PARAM_CONFLICT',
        `Param "${key}" of logged model ${model.id} is already ${JSON.stringify(existing)}; model params cannot change (got ${JSON.stringify(value)}). Log a new model instead.`,
      );
    }
  }
  return { ...model.params, ...next };
}
