import type { LoggedModel, LoggedModelStatus } from '../../../shared/domain/logged-model.js';
import { keyValues, MlflowError } from './protocol.js';

/**
 * A LoggedModel as MLflow's server writes it (mlflow/protos/service.proto `LoggedModel`): snake_case
 * fields, timestamps as JSON numbers (message_to_json writes int64 as numbers), the status by name.
 * `data.metrics` stays empty: metrics logged against a model are kept on its run.
 */
export function loggedModelJson(model: LoggedModel) {
  return {
    info: {
      model_id: model.id,
      experiment_id: model.experimentId,
      name: model.name,
      creation_timestamp_ms: model.createdAt,
      last_updated_timestamp_ms: model.updatedAt,
      artifact_uri: model.artifactLocation,
      status: model.status,
      ...(model.modelType !== undefined && { model_type: model.modelType }),
      ...(model.sourceRunId !== undefined && { source_run_id: model.sourceRunId }),
      ...(model.statusMessage !== undefined && { status_message: model.statusMessage }),
      tags: keyValues(model.tags),
    },
    data: { params: keyValues(model.params), metrics: [] },
  };
}

/** Proto JSON may name an enum value or give its number (LoggedModelStatus: 1 pending, 2 ready, 3 upload failed). */
const STATUS_BY_NUMBER: Record<number, LoggedModelStatus> = { 1: 'LOGGED_MODEL_PENDING', 2: 'LOGGED_MODEL_READY', 3: 'LOGGED_MODEL_UPLOAD_FAILED' };
const FINAL_STATUSES: LoggedModelStatus[] = ['LOGGED_MODEL_READY', 'LOGGED_MODEL_UPLOAD_FAILED'];

/** The status a finalize request sets: READY or UPLOAD_FAILED, by name or number, as FinalizeLoggedModel allows. */
export function finalStatusOf(status: string | number): LoggedModelStatus {
  const named = typeof status === 'number' ? STATUS_BY_NUMBER[status] : (status as LoggedModelStatus);
  if (named && FINAL_STATUSES.includes(named)) return named;
  throw new MlflowError(
    'INVALID_PARAMETER_VALUE',
    `Logged model status ${JSON.stringify(status)} cannot finalize a model: use ${FINAL_STATUSES.join(' or ')}.`,
  );
}

/** One order_by entry of logged-models/search. */
export interface LoggedModelOrder {
  field_name: string;
  ascending?: boolean;
}

/** The fields search can order by, with how each is read (MLflow's creation_time is creation_timestamp_ms). */
const ORDER_FIELDS: Record<string, (model: LoggedModel) => number | string> = {
  creation_time: (model) => model.createdAt,
  creation_timestamp: (model) => model.createdAt,
  last_updated_timestamp: (model) => model.updatedAt,
  name: (model) => model.name,
  model_id: (model) => model.id,
};

/** Sorts models by the requested fields in turn; with none they stay newest first, as the store returns them. */
export function orderLoggedModels(models: LoggedModel[], orderBy: LoggedModelOrder[]): LoggedModel[] {
  const keys = orderBy.map(({ field_name, ascending = true }) => {
    const read = ORDER_FIELDS[field_name];
    if (!read) {
      throw new MlflowError(
        'INVALID_PARAMETER_VALUE',
        `Cannot order logged models by ${JSON.stringify(field_name)}: use ${Object.keys(ORDER_FIELDS).join(', ')}.`,
      );
    }
    return { read, sign: ascending ? 1 : -1 };
  });
  return [...models].sort((a, b) => {
    for (const { read, sign } of keys) {
      const left = read(a);
      const right = read(b);
      if (left !== right) return (left < right ? -1 : 1) * sign;
    }
    return 0;
  });
}
