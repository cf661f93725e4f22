import type { AuditEntry, Model, ModelVersion, PromotionPolicy, PromotionRequest } from '../domain/registry.js';

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

/**
 * The model registry's store: Firestore. Version numbers and alias moves happen in
 * transactions, so concurrent writers leave a consistent registry and a complete audit trail.
 */
export interface ModelRegistry {
  /** Assigns the next version number, or returns the version this registration key already made. */
  registerVersion(request: RegistrationRequest): Promise<{ version: ModelVersion; created: boolean }>;
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
  /** Records where the model is served now (after serving-rollout rolled it out). */
  recordServing(name: string, serving: NonNullable<Model['serving']>): Promise<void>;
  /** The audit trail of a model, oldest first. */
  history(name: string): Promise<AuditEntry[]>;
}
