import { Firestore, type DocumentReference, type Transaction } from '@google-cloud/firestore';
import { PlatformError } from '../../domain/errors.js';
import { KeyedLock } from './keyed-lock.js';
import { FirestoreRolloutStore } from './firestore-rollout-store.js';
import { appendAudit, docId, stripSequence, transact } from './transactions.js';
import {
  type AuditEntry,
  type Model,
  type ModelVersion,
  type PromotionPolicy,
  type PromotionRequest,
  applyAliasRemoval,
  applyPromotion,
  applyRollback,
  checkPromotion,
} from '../../domain/registry.js';
import type { Rollout } from '../../domain/rollout.js';
import type {
  AliasMove,
  AliasRemoval,
  AliasRemovalRequest,
  ModelCreation,
  ModelRegistry,
  RegistrationRequest,
  RejectionRecord,
} from '../../ports/model-registry.port.js';

/** Options of the Firestore registry. */
export interface FirestoreModelRegistryOptions {
  projectId: string;
  databaseId?: string;
  client?: Firestore;
}

/**
 * ModelRegistry on Firestore: `models/{name}`, `models/{name}/versions/{n}`,
 * `models/{name}/audit/{id}` and `registrations/{key hash}` for idempotent registration; rollouts
 * under `models/{name}/rollouts/{id}` (FirestoreRolloutStore).
 */
export class FirestoreModelRegistry implements ModelRegistry {
  private readonly db: Firestore;
  private readonly modelLock = new KeyedLock();
  private readonly rollouts: FirestoreRolloutStore;

  constructor({ projectId, databaseId = '(default)', client }: FirestoreModelRegistryOptions) {
    this.db = client ?? new Firestore({ projectId, databaseId, ignoreUndefinedProperties: true });
    this.rollouts = new FirestoreRolloutStore(this.db, this.modelLock);
  }

  startRollout(rollout: Rollout): Promise<{ rollout: Rollout; created: boolean }> {
    return this.rollouts.start(rollout);
  }

  getRollout(model: string, id?: string): Promise<Rollout | undefined> {
    return this.rollouts.get(model, id);
  }

  listRollouts(model: string): Promise<Rollout[]> {
    return this.rollouts.list(model);
  }

  listActiveRollouts(): Promise<Rollout[]> {
    return this.rollouts.listActive();
  }

  updateRollout(next: Rollout, expectedUpdatedAt: string): Promise<{ rollout: Rollout; applied: boolean }> {
    return this.rollouts.update(next, expectedUpdatedAt);
  }

  async registerVersion(request: RegistrationRequest): Promise<{ version: ModelVersion; created: boolean }> {
    const { registrationKey, actor, ...fields } = request;
    return this.modelLock.run(fields.model, () =>
      transact(this.db, async (tx) => {
        const registration = await tx.get(this.db.collection('registrations').doc(docId(registrationKey)));
        const previous = registration.data() as { model: string; version?: number } | undefined;
        if (previous?.version !== undefined) {
          const existing = await tx.get(this.versionRef(previous.model, previous.version));
          return { version: existing.data() as ModelVersion, created: false };
        }
        const model = await this.readModel(tx, fields.model);
        const now = new Date().toISOString();
        const version: ModelVersion = {
          ...fields,
          version: (model?.latestVersion ?? 0) + 1,
          status: 'ready',
          createdAt: now,
        };
        const next: Model = {
          ...(model ?? emptyModel(fields.model, now)),
          latestVersion: version.version,
          updatedAt: now,
        };
        tx.set(this.versionRef(version.model, version.version), version);
        tx.set(this.modelRef(version.model), next);
        tx.set(registration.ref, {
          model: version.model,
          version: version.version,
          registrationKey,
        });
        this.appendAudit(tx, version.model, `registered-${version.version}`, {
          action: 'registered',
          fromVersion: null,
          toVersion: version.version,
          actor,
          reason: `registered from ${version.artifactUri}`,
          at: now,
        });
        return { version, created: true };
      }),
    );
  }

  async createModel(name: string, { description = '', tags = {}, actor }: ModelCreation): Promise<{ model: Model; created: boolean }> {
    return this.modelLock.run(name, () =>
      transact(this.db, async (tx) => {
        const existing = await this.readModel(tx, name);
        if (existing) return { model: existing, created: false };
        const now = new Date().toISOString();
        const model: Model = { ...emptyModel(name, now), description, tags };
        tx.set(this.modelRef(name), model);
        this.appendAudit(tx, name, 'created', { action: 'created', fromVersion: null, toVersion: null, actor, reason: 'created with no versions', at: now });
        return { model, created: true };
      }),
    );
  }

  async removeAlias(request: AliasRemovalRequest): Promise<AliasRemoval> {
    const auditId = `request-${docId(request.requestId)}`;
    return this.modelLock.run(request.model, () =>
      transact(this.db, async (tx) => {
        const done = await tx.get(this.modelRef(request.model).collection('audit').doc(auditId));
        if (done.exists) return toRemoval(request, stripSequence(done.data()), false);
        const model = await this.readModel(tx, request.model);
        if (!model) throw new PlatformError('REGISTRY.MODEL_NOT_FOUND', `No model named "${request.model}". List models with: mlops models list`);
        const { model: next, removed } = applyAliasRemoval(model, request.alias);
        if (removed === null) return { model: request.model, alias: request.alias, removedVersion: null, applied: false };
        const now = new Date().toISOString();
        tx.set(this.modelRef(request.model), { ...next, updatedAt: now });
        const audit = this.appendAudit(tx, request.model, auditId, {
          action: 'alias_removed',
          alias: request.alias,
          fromVersion: removed,
          toVersion: null,
          actor: request.actor,
          reason: request.reason,
          at: now,
        });
        return toRemoval(request, audit, true);
      }),
    );
  }

  async recordRejection(record: RejectionRecord): Promise<{ created: boolean }> {
    return this.modelLock.run(record.model, () =>
      transact(this.db, async (tx) => {
        const registration = await tx.get(this.db.collection('registrations').doc(docId(record.registrationKey)));
        if (registration.exists) return { created: false };
        const model = await this.readModel(tx, record.model);
        const now = new Date().toISOString();
        if (!model) tx.set(this.modelRef(record.model), emptyModel(record.model, now));
        tx.set(registration.ref, {
          model: record.model,
          rejected: true,
          registrationKey: record.registrationKey,
          reason: record.reason,
        });
        this.appendAudit(tx, record.model, `rejected-${docId(record.registrationKey)}`, {
          action: 'rejected',
          fromVersion: null,
          toVersion: null,
          actor: record.actor,
          reason: `${record.artifactUri}: ${record.reason}`,
          at: now,
        });
        return { created: true };
      }),
    );
  }

  async getModel(name: string): Promise<Model | undefined> {
    return (await this.modelRef(name).get()).data() as Model | undefined;
  }

  async listModels(): Promise<Model[]> {
    const snapshot = await this.db.collection('models').orderBy('name').get();
    return snapshot.docs.map((doc) => doc.data() as Model);
  }

  async getVersion(name: string, version: number): Promise<ModelVersion | undefined> {
    return (await this.versionRef(name, version).get()).data() as ModelVersion | undefined;
  }

  async listVersions(name: string): Promise<ModelVersion[]> {
    const snapshot = await this.modelRef(name).collection('versions').orderBy('version').get();
    return snapshot.docs.map((doc) => doc.data() as ModelVersion);
  }

  async listVersionsByRun(runId: string): Promise<ModelVersion[]> {
    // A collection-group query over every model's versions; on Google Cloud it needs a
    // collection-group single-field index on versions.lineage.runId (the emulator needs none).
    const snapshot = await this.db.collectionGroup('versions').where('lineage.runId', '==', runId).get();
    return snapshot.docs.map((doc) => doc.data() as ModelVersion).sort((a, b) => a.model.localeCompare(b.model) || a.version - b.version);
  }

  async recordServing(name: string, serving: NonNullable<Model['serving']>): Promise<void> {
    await this.modelRef(name).update({ serving });
  }

  async history(name: string): Promise<AuditEntry[]> {
    const snapshot = await this.modelRef(name).collection('audit').orderBy('sequence').get();
    return snapshot.docs.map((doc) => stripSequence(doc.data()));
  }

  async recordAudit(model: string, { id, ...entry }: Omit<AuditEntry, 'model'>): Promise<{ entry: AuditEntry; created: boolean }> {
    return this.modelLock.run(model, () =>
      transact(this.db, async (tx) => {
        const [stored, found] = await tx.getAll(this.modelRef(model).collection('audit').doc(id), this.modelRef(model));
        if (stored?.exists) return { entry: stripSequence(stored.data()), created: false };
        if (!found?.exists) throw new PlatformError('REGISTRY.MODEL_NOT_FOUND', `No model named "${model}". List models with: mlops models list`);
        return { entry: this.appendAudit(tx, model, id, entry), created: true };
      }),
    );
  }

  async promote(request: PromotionRequest, policy: PromotionPolicy): Promise<AliasMove> {
    return this.moveAlias(request.model, request.requestId, async (tx, model) => {
      const version = (await tx.get(this.versionRef(request.model, request.version))).data() as ModelVersion | undefined;
      const audit = policy.requireStaging ? (await tx.get(this.modelRef(request.model).collection('audit'))).docs.map((doc) => stripSequence(doc.data())) : [];
      checkPromotion(version, request, policy, audit);
      const moved = applyPromotion(model, request.alias, request.version);
      return {
        model: moved.model,
        entry: {
          action: 'promoted',
          alias: request.alias,
          fromVersion: moved.previous,
          toVersion: request.version,
          actor: request.actor,
          reason: request.reason,
        },
      };
    });
  }

  async rollback(request: { model: string; alias: string; actor: string; reason: string; requestId: string }): Promise<AliasMove> {
    return this.moveAlias(request.model, request.requestId, async (_tx, model) => {
      const moved = applyRollback(model, request.alias);
      return {
        model: moved.model,
        entry: {
          action: 'rolled_back',
          alias: request.alias,
          fromVersion: moved.from,
          toVersion: moved.to,
          actor: request.actor,
          reason: request.reason,
        },
      };
    });
  }

  /** One alias move in one transaction, applied at most once per request id. */
  private async moveAlias(
    name: string,
    requestId: string,
    decide: (
      tx: Transaction,
      model: Model,
    ) => Promise<{
      model: Model;
      entry: Omit<AuditEntry, 'id' | 'model' | 'at'>;
    }>,
  ): Promise<AliasMove> {
    const auditId = `request-${docId(requestId)}`;
    return this.modelLock.run(name, () =>
      transact(this.db, async (tx) => {
        const done = await tx.get(this.modelRef(name).collection('audit').doc(auditId));
        if (done.exists) return toMove(stripSequence(done.data()), false);
        const model = await this.readModel(tx, name);
        if (!model) throw new PlatformError('REGISTRY.MODEL_NOT_FOUND', `No model named "${name}". List models with: mlops models list`);
        const { model: next, entry } = await decide(tx, model);
        const now = new Date().toISOString();
        tx.set(this.modelRef(name), { ...next, updatedAt: now });
        const audit = this.appendAudit(tx, name, auditId, { ...entry, at: now });
        return toMove(audit, true);
      }),
    );
  }

  private appendAudit(tx: Transaction, model: string, id: string, entry: Omit<AuditEntry, 'id' | 'model'>): AuditEntry {
    return appendAudit(tx, this.modelRef(model), id, entry);
  }

  private async readModel(tx: Transaction, name: string): Promise<Model | undefined> {
    return (await tx.get(this.modelRef(name))).data() as Model | undefined;
  }

  private modelRef(name: string): DocumentReference {
    return this.db.collection('models').doc(name);
  }

  private versionRef(name: string, version: number): DocumentReference {
    return this.modelRef(name).collection('versions').doc(String(version));
  }
}

function emptyModel(name: string, now: string): Model {
  return {
    name,
    latestVersion: 0,
    aliases: {},
    aliasHistory: {},
    tags: {},
    description: '',
    createdAt: now,
    updatedAt: now,
  };
}

function toRemoval(request: AliasRemovalRequest, audit: AuditEntry, applied: boolean): AliasRemoval {
  return { model: request.model, alias: request.alias, removedVersion: audit.fromVersion, audit, applied };
}

function toMove(audit: AuditEntry, applied: boolean): AliasMove {
  return {
    model: audit.model,
    alias: audit.alias ?? '',
    version: audit.toVersion ?? 0,
    previousVersion: audit.fromVersion,
    audit,
    applied,
  };
}
