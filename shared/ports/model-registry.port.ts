import type { AuditEntry, Model, ModelVersion, PromotionPolicy, PromotionRequest } from '../domain/registry.js';
import type { Rollout } from '../domain/rollout.js';

/** A validated artifact asking for a version number. */
export interface RegistrationRequest extends Omit<ModelVersion, 'version' | 'status' | 'createdAt'> {
  /** `bucket/object#generation`: the same notification delivered twice registers once. */
  registrationKey: string;
  actor: string;
}

/** An artifact that failed validation: recorded with its reason, no version number used. */
export interface RejectionRecord {
  model: string;
  registrationKey: string;
  artifactUri: string;
  reason: string;
  actor: string;
}

/** Outcome of an alias move. */
export interface AliasMove {
  model: string;
  alias: string;
  version: number;
  previousVersion: number | null;
  audit: AuditEntry;
  /** False when the request id had been applied before (a redelivery). */
  applied: boolean;
}

/** What a new, empty registered model starts with. */
export interface ModelCreation {
  description?: string;
  tags?: Record<string, string>;
  actor: string;
}

/** An alias to remove, idempotently by request id. */
export interface AliasRemovalRequest {
  model: string;
  alias: string;
  actor: string;
  reason: string;
  requestId: string;
}

/** Outcome of an alias removal. */
export interface AliasRemoval {
  model: string;
  alias: string;
  /** The version the alias named; null when it was not set (nothing changed, no audit entry). */
  removedVersion: number | null;
  audit?: AuditEntry;
  /** False when nothing changed: the alias was not set, or the request id had been applied before. */
  applied: boolean;
}

/**
 * The model registry's store: Firestore. Version numbers and alias moves happen in
 * transactions, so concurrent writers leave a consistent registry and a complete audit trail.
 */
export interface ModelRegistry {
  /** Assigns the next version number, or returns the version this registration key already made. */
  registerVersion(request: RegistrationRequest): Promise<{ version: ModelVersion; created: boolean }>;
  /**
   * Creates a model with no versions yet (latestVersion 0), writing a `created` audit entry; a model
   * of that name already there is returned unchanged with created: false. registerVersion numbers from 1 on it.
   */
  createModel(name: string, creation: ModelCreation): Promise<{ model: Model; created: boolean }>;
  /** Records a rejected artifact once per registration key. */
  recordRejection(record: RejectionRecord): Promise<{ created: boolean }>;
  getModel(name: string): Promise<Model | undefined>;
  listModels(): Promise<Model[]>;
  getVersion(name: string, version: number): Promise<ModelVersion | undefined>;
  /** Versions of a model, oldest first. */
  listVersions(name: string): Promise<ModelVersion[]>;
  /** Versions of any model made from one tracking run (`lineage.runId`), by model then version. */
  listVersionsByRun(runId: string): Promise<ModelVersion[]>;
  /** Moves an alias to a version under the promotion rules, idempotently by request id. */
  promote(request: PromotionRequest, policy: PromotionPolicy): Promise<AliasMove>;
  /** Moves an alias back to its previous holder, idempotently by request id. */
  rollback(request: { model: string; alias: string; actor: string; reason: string; requestId: string }): Promise<AliasMove>;
  /**
   * Removes an alias (an `alias_removed` audit entry; its holder joins the alias's history), applied
   * once per request id. `production` is refused with REGISTRY.PROMOTION_REFUSED: serving follows it.
   */
  removeAlias(request: AliasRemovalRequest): Promise<AliasRemoval>;
  /** Records where the model is served now (after serving-rollout rolled it out). */
  recordServing(name: string, serving: NonNullable<Model['serving']>): Promise<void>;
  /** The audit trail of a model, oldest first. */
  history(name: string): Promise<AuditEntry[]>;
  /**
   * Appends an entry that records no registry change (a retrain requested, delivered or failed), once
   * per entry id: the same id again changes nothing (created: false). The model must exist.
   */
  recordAudit(model: string, entry: Omit<AuditEntry, 'model'>): Promise<{ entry: AuditEntry; created: boolean }>;

  /**
   * Stores a new rollout in a transaction: refused with ROLLOUT.ALREADY_RUNNING (naming the active
   * one's id) while the model has an active rollout; the same requestId again returns the rollout it
   * made (created: false). Writes a `rollout_started` audit entry.
   */
  startRollout(rollout: Rollout): Promise<{ rollout: Rollout; created: boolean }>;
  /** A model's rollout by id; without one, its active rollout, else its latest. */
  getRollout(model: string, id?: string): Promise<Rollout | undefined>;
  /** A model's rollouts, newest first. */
  listRollouts(model: string): Promise<Rollout[]>;
  /** Every model's active (running or paused) rollouts: what the analyser visits. */
  listActiveRollouts(): Promise<Rollout[]>;
  /**
   * Replaces a rollout only if the stored one was last updated at `expectedUpdatedAt` (compare and
   * set, in a transaction): a redelivered or raced analysis changes nothing and gets the stored one
   * back with applied: false. A change of step or state writes an audit entry (`rollout_step`,
   * `rollout_paused`, `rollout_resumed` or `rollout_ended`, the reason included).
   */
  updateRollout(next: Rollout, expectedUpdatedAt: string): Promise<{ rollout: Rollout; applied: boolean }>;
}
