import type { Model, ModelVersion, VersionStatus } from '../../../shared/domain/registry.js';
import { keyValues } from './protocol.js';

/** MLflow's ModelVersionStatus names for our version statuses. */
const STATUS: Record<VersionStatus, MlflowVersionStatus> = {
  ready: 'READY',
  registering: 'PENDING_REGISTRATION',
  rejected: 'FAILED_REGISTRATION',
};

/** MLflow's ModelVersionStatus (mlflow/protos/model_registry.proto). */
export type MlflowVersionStatus = 'READY' | 'PENDING_REGISTRATION' | 'FAILED_REGISTRATION';

/**
 * MLflow's ModelVersion message. Timestamps are int64 and, as MLflow's server writes them
 * (`message_to_json` in mlflow/utils/proto_json_utils.py), JSON numbers; `version` is a string in the proto.
 */
export interface ModelVersionJson {
  name: string;
  version: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  user_id: string;
  current_stage: 'None';
  description: string;
  source: string;
  run_id: string;
  status: MlflowVersionStatus;
  status_message: string;
  tags: { key: string; value: string }[];
  run_link: '';
  aliases: string[];
  model_id?: string;
}

/** MLflow's RegisteredModel message. */
export interface RegisteredModelJson {
  name: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  description: string;
  latest_versions: ModelVersionJson[];
  tags: { key: string; value: string }[];
  aliases: { alias: string; version: string }[];
}

/**
 * One of our versions as MLflow's ModelVersion: `source` is the MLflow source it was registered
 * from (else the bucket object), the aliases are the model's that name it. Stages are not ours:
 * every version is in stage "None".
 */
export function modelVersionJson(version: ModelVersion, model: Pick<Model, 'aliases'> | undefined): ModelVersionJson {
  const created = Date.parse(version.createdAt);
  return {
    name: version.model,
    version: String(version.version),
    creation_timestamp: created,
    last_updated_timestamp: created,
    user_id: version.lineage.uploader ?? '',
    current_stage: 'None',
    description: version.description,
    source: version.lineage.source ?? version.artifactUri,
    run_id: version.lineage.runId ?? '',
    status: STATUS[version.status],
    status_message: '',
    tags: keyValues(version.tags),
    run_link: '',
    aliases: aliasesOf(model, version.version),
    ...(version.lineage.loggedModelId ? { model_id: version.lineage.loggedModelId } : {}),
  };
}

/** What a failed model-versions/create answers: FAILED_REGISTRATION, our reason, and version "0" (no number was taken). */
export interface FailedVersion {
  name: string;
  source: string;
  runId?: string;
  modelId?: string;
  description: string;
  tags: Record<string, string>;
  userId: string;
  reason: string;
}

/**
 * A registration that failed, as MLflow's ModelVersion. Our registry numbers only the versions it
 * accepted, so a rejected file has no version: it answers "0", which no model-versions/get finds.
 */
export function failedVersionJson(failed: FailedVersion, now = Date.now()): ModelVersionJson {
  return {
    name: failed.name,
    version: '0',
    creation_timestamp: now,
    last_updated_timestamp: now,
    user_id: failed.userId,
    current_stage: 'None',
    description: failed.description,
    source: failed.source,
    run_id: failed.runId ?? '',
    status: 'FAILED_REGISTRATION',
    status_message: failed.reason,
    tags: keyValues(failed.tags),
    run_link: '',
    aliases: [],
    ...(failed.modelId ? { model_id: failed.modelId } : {}),
  };
}

/** One of our models as MLflow's RegisteredModel; `latest` is its newest version (every version is in stage "None"). */
export function registeredModelJson(model: Model, latest: ModelVersion | undefined): RegisteredModelJson {
  return {
    name: model.name,
    creation_timestamp: Date.parse(model.createdAt),
    last_updated_timestamp: Date.parse(model.updatedAt),
    description: model.description,
    latest_versions: latest ? [modelVersionJson(latest, model)] : [],
    tags: keyValues(model.tags),
    aliases: Object.entries(model.aliases)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([alias, version]) => ({ alias, version: String(version) })),
  };
}

function aliasesOf(model: Pick<Model, 'aliases'> | undefined, version: number): string[] {
  return Object.entries(model?.aliases ?? {})
    .filter(([, held]) => held === version)
    .map(([alias]) => alias)
    .sort();
}
