import { PlatformError } from './errors.js';
import type { ModelSignature, ServedGraph } from './model-signature.js';
import { type ModelTask, modelTask } from './model-task.js';

/** Lifecycle of a model version. */
export type VersionStatus = 'registering' | 'ready' | 'rejected';

/** Where a version came from. */
export interface Lineage {
  sourceUri: string;
  runId?: string;
  datasetId?: string;
  uploader?: string;
  /** The MLflow source the version was registered from (`runs:/<run>/model`, `mlflow-artifacts:/...`, `models:/<id>`), when it came through MLflow. */
  source?: string;
  /** The MLflow 3 logged model (`m-<hex>`) the version was made from, when known. */
  loggedModelId?: string;
  /** The version this one was retrained from (`mlops upload --parent <model>@<version>`). */
  parent?: ModelReference;
}

/** One version of one model, as `<model>@<version>` names it. */
export interface ModelReference {
  model: string;
  version: number;
}

/** One immutable version of a model. */
export interface ModelVersion {
  model: string;
  version: number;
  status: VersionStatus;
  artifactUri: string;
  generation: string;
  sha256: string;
  sizeBytes: number;
  signature: ModelSignature;
  /** What the model predicts and which output means what (absent on versions registered before it was recorded). */
  task?: ModelTask;
  /** The graph onnxruntime runs, when it was derived from the upload (absent: the upload itself). */
  served?: ServedGraph;
  metrics: Record<string, number>;
  params: Record<string, string>;
  tags: Record<string, string>;
  description: string;
  lineage: Lineage;
  createdAt: string;
}

/** A named model: its aliases, each naming one version, and the holders each alias had before. */
export interface Model {
  name: string;
  latestVersion: number;
  aliases: Record<string, number>;
  /** Per alias, earlier holders, most recent last; rollback pops from here. */
  aliasHistory: Record<string, number[]>;
  tags: Record<string, string>;
  description: string;
  createdAt: string;
  updatedAt: string;
  /** Where the model's production alias is served, once deployed. */
  serving?: { url: string; version: number; revision: string; deployedAt: string };
}

/** Kinds of transition the audit trail records. */
export type AuditAction =
  | 'created'
  | 'registered'
  | 'rejected'
  | 'promoted'
  | 'rolled_back'
  | 'alias_removed'
  | 'rollout_started'
  | 'rollout_step'
  | 'rollout_paused'
  | 'rollout_resumed'
  | 'rollout_ended'
  | 'retrain_requested'
  | 'retrain_delivered'
  | 'retrain_failed';

/** One transition: who, when, what moved from which version to which, and why. */
export interface AuditEntry {
  id: string;
  model: string;
  action: AuditAction;
  alias?: string;
  fromVersion: number | null;
  toVersion: number | null;
  actor: string;
  reason: string;
  at: string;
}

/** Promotion policy, from configuration. */
export interface PromotionPolicy {
  /** A version must have held `staging` before it may take `production`. */
  requireStaging: boolean;
}

/** What a promotion asks for. */
export interface PromotionRequest {
  model: string;
  version: number;
  alias: string;
  actor: string;
  reason: string;
  /** Idempotency key: the same request delivered twice is applied once. */
  requestId: string;
}

/** The version's task: as recorded at registration, else inferred from its signature and tags (a tag the model contradicts is then ignored). */
export function taskOf(version: Pick<ModelVersion, 'signature' | 'tags' | 'task'>): ModelTask {
  if (version.task) return version.task;
  try {
    return modelTask(version.signature, version.tags);
  } catch {
    return modelTask(version.signature);
  }
}

/** Whether `version` held `alias` at any point, judged from the audit trail. */
export function hasHeld(audit: AuditEntry[], alias: string, version: number): boolean {
  return audit.some((entry) => entry.alias === alias && entry.toVersion === version && (entry.action === 'promoted' || entry.action === 'rolled_back'));
}

/**
 * The promotion rules, applied inside the registry's transaction: only a ready version moves,
 * and the policy may demand a stay in staging before production.
 */
export function checkPromotion(version: ModelVersion | undefined, request: PromotionRequest, policy: PromotionPolicy, audit: AuditEntry[]): ModelVersion {
  if (!version) {
    throw new PlatformError(
      'REGISTRY.VERSION_NOT_FOUND',
      `Model "${request.model}" has no version ${request.version}. List versions with: mlops models show ${request.model}`,
    );
  }
  if (version.status !== 'ready') {
    throw new PlatformError(
      'REGISTRY.VERSION_NOT_READY',
      `Version ${version.version} of "${version.model}" is ${version.status}; only a ready version can be promoted.`,
    );
  }
  if (policy.requireStaging && request.alias === 'production' && !hasHeld(audit, 'staging', version.version)) {
    throw new PlatformError(
      'REGISTRY.PROMOTION_REFUSED',
      `Policy requires version ${version.version} of "${version.model}" to be in staging before production. Run: mlops promote ${version.model} ${version.version} --to staging`,
    );
  }
  return version;
}

/** The alias move a promotion makes: the new holder, and the old one remembered for rollback. */
export function applyPromotion(model: Model, alias: string, version: number): { model: Model; previous: number | null } {
  const previous = model.aliases[alias] ?? null;
  const history = model.aliasHistory[alias] ?? [];
  const nextHistory = previous === null || previous === version ? history : [...history, previous];
  return {
    previous,
    model: { ...model, aliases: { ...model.aliases, [alias]: version }, aliasHistory: { ...model.aliasHistory, [alias]: nextHistory } },
  };
}

/** The alias move a rollback makes: back to the most recent earlier holder. */
export function applyRollback(model: Model, alias: string): { model: Model; from: number; to: number } {
  const history = model.aliasHistory[alias] ?? [];
  const from = model.aliases[alias];
  const to = history.at(-1);
  if (from === undefined || to === undefined) {
    throw new PlatformError('REGISTRY.NOTHING_TO_ROLL_BACK', `Alias "${alias}" of "${model.name}" has no earlier holder to roll back to.`);
  }
  return {
    from,
    to,
    model: { ...model, aliases: { ...model.aliases, [alias]: to }, aliasHistory: { ...model.aliasHistory, [alias]: history.slice(0, -1) } },
  };
}

/** The alias serving follows: it can move (promote, roll back) but never be removed. */
export const SERVING_ALIAS = 'production';

/**
 * The change removing an alias makes: the alias is gone and its last holder joins the alias's
 * history (a later rollback can return to it). `production` is refused: serving follows it.
 */
export function applyAliasRemoval(model: Model, alias: string): { model: Model; removed: number | null } {
  if (alias === SERVING_ALIAS) {
    throw new PlatformError(
      'REGISTRY.PROMOTION_REFUSED',
      `Alias "${alias}" of "${model.name}" is what serving follows and cannot be removed. Move it instead: mlops rollback ${model.name}, or mlops promote ${model.name} <version> --to ${alias}`,
    );
  }
  const removed = model.aliases[alias];
  if (removed === undefined) return { model, removed: null };
  const { [alias]: _gone, ...aliases } = model.aliases;
  return { removed, model: { ...model, aliases, aliasHistory: { ...model.aliasHistory, [alias]: [...(model.aliasHistory[alias] ?? []), removed] } } };
}

/** What a serving revision is pinned to: a version, or an alias resolved once at cold start. */
export type ServingTarget = { model: string; version: number } | { model: string; alias: string };
