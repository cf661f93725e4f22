import type { DocumentReference, Firestore, Transaction } from '@google-cloud/firestore';
import { PlatformError } from '../../domain/errors.js';
import type { AuditEntry } from '../../domain/registry.js';
import { isActive, type Rollout } from '../../domain/rollout.js';
import type { KeyedLock } from './keyed-lock.js';
import { appendAudit, docId, transact } from './transactions.js';

/** An audit entry a rollout's change writes, before the trail gives it its model. */
type RolloutAudit = { id: string; entry: Omit<AuditEntry, 'id' | 'model'> };

/**
 * Rollouts on Firestore: `models/{name}/rollouts/{id}`, plus two kinds of marker under
 * `models/{name}/rolloutMarkers/`: `active` (the one rollout holding traffic, which every start
 * reads in its transaction, so two racing starts contend on it and one is refused) and
 * `request-{hash}` (the rollout a request id made, for idempotent starts).
 */
export class FirestoreRolloutStore {
  constructor(
    private readonly db: Firestore,
    private readonly modelLock: KeyedLock,
  ) {}

  async start(rollout: Rollout): Promise<{ rollout: Rollout; created: boolean }> {
    return this.modelLock.run(rollout.model, () =>
      transact(this.db, async (tx) => {
        const requestRef = this.markerRef(rollout.model, `request-${docId(rollout.requestId)}`);
        const [request, active] = await tx.getAll(requestRef, this.markerRef(rollout.model, 'active'));
        const made = request?.data() as { rolloutId: string } | undefined;
        if (made) return { rollout: (await this.read(tx, rollout.model, made.rolloutId))!, created: false };
        const running = active?.data() as { rolloutId: string } | undefined;
        if (running) throw alreadyRunning(rollout.model, await this.read(tx, rollout.model, running.rolloutId), running.rolloutId);
        tx.set(this.rolloutRef(rollout.model, rollout.id), rollout);
        tx.set(this.markerRef(rollout.model, 'active'), { rolloutId: rollout.id });
        tx.set(requestRef, { rolloutId: rollout.id, requestId: rollout.requestId });
        this.audit(tx, rollout.model, [startedEntry(rollout)]);
        return { rollout, created: true };
      }),
    );
  }

  async get(model: string, id?: string): Promise<Rollout | undefined> {
    if (id !== undefined) return (await this.rolloutRef(model, id).get()).data() as Rollout | undefined;
    const active = (await this.markerRef(model, 'active').get()).data() as { rolloutId: string } | undefined;
    if (active) return (await this.rolloutRef(model, active.rolloutId).get()).data() as Rollout | undefined;
    return (await this.list(model, 1))[0];
  }

  async list(model: string, limit?: number): Promise<Rollout[]> {
    const newestFirst = this.modelRef(model).collection('rollouts').orderBy('createdAt', 'desc');
    const snapshot = await (limit === undefined ? newestFirst : newestFirst.limit(limit)).get();
    return snapshot.docs.map((doc) => doc.data() as Rollout);
  }

  async listActive(): Promise<Rollout[]> {
    // Each model's `active` marker, then the rollouts they name: two batched reads, and no
    // collection-group query (which on Google Cloud would need an index the deploy would have to create).
    const models = await this.db.collection('models').listDocuments();
    if (models.length === 0) return [];
    const markers = await this.db.getAll(...models.map((model) => model.collection('rolloutMarkers').doc('active')));
    const refs = markers.flatMap((marker) => {
      const held = marker.data() as { rolloutId: string } | undefined;
      return held ? [marker.ref.parent.parent!.collection('rollouts').doc(held.rolloutId)] : [];
    });
    if (refs.length === 0) return [];
    const rollouts = (await this.db.getAll(...refs)).map((doc) => doc.data() as Rollout | undefined).filter((rollout) => rollout !== undefined);
    return rollouts.filter(isActive).sort((a, b) => a.model.localeCompare(b.model) || a.createdAt.localeCompare(b.createdAt));
  }

  async update(next: Rollout, expectedUpdatedAt: string): Promise<{ rollout: Rollout; applied: boolean }> {
    return this.modelLock.run(next.model, () =>
      transact(this.db, async (tx) => {
        const activeRef = this.markerRef(next.model, 'active');
        const [stored, active] = await tx.getAll(this.rolloutRef(next.model, next.id), activeRef);
        const current = stored?.data() as Rollout | undefined;
        if (!current)
          throw new PlatformError('ROLLOUT.NOT_FOUND', `Model "${next.model}" has no rollout ${next.id}. List them with: mlops rollout status ${next.model}`);
        if (current.updatedAt !== expectedUpdatedAt) return { rollout: current, applied: false };
        if (!isActive(current) && isActive(next)) {
          throw new PlatformError('ROLLOUT.INVALID', `Rollout ${next.id} of "${next.model}" has ended (${current.state}); start a new one instead.`);
        }
        tx.set(stored!.ref, next);
        const holder = (active?.data() as { rolloutId: string } | undefined)?.rolloutId;
        if (!isActive(next) && holder === next.id) tx.delete(activeRef);
        this.audit(tx, next.model, changeEntries(current, next));
        return { rollout: next, applied: true };
      }),
    );
  }

  private audit(tx: Transaction, model: string, entries: RolloutAudit[]): void {
    for (const { id, entry } of entries) appendAudit(tx, this.modelRef(model), id, entry);
  }

  private async read(tx: Transaction, model: string, id: string): Promise<Rollout | undefined> {
    return (await tx.get(this.rolloutRef(model, id))).data() as Rollout | undefined;
  }

  private modelRef(model: string): DocumentReference {
    return this.db.collection('models').doc(model);
  }

  private rolloutRef(model: string, id: string): DocumentReference {
    return this.modelRef(model).collection('rollouts').doc(id);
  }

  private markerRef(model: string, id: string): DocumentReference {
    return this.modelRef(model).collection('rolloutMarkers').doc(id);
  }
}

function alreadyRunning(model: string, rollout: Rollout | undefined, rolloutId: string): PlatformError {
  const what = rollout ? `a ${rollout.mode} of version ${rollout.candidate}, ${rollout.state}` : 'under way';
  return new PlatformError(
    'ROLLOUT.ALREADY_RUNNING',
    `Model "${model}" already has rollout ${rolloutId} (${what}); one rollout runs per model at a time. See it with: mlops rollout status ${model}, or stop it with: mlops rollout abort ${model}`,
    { details: { rolloutId } },
  );
}

function startedEntry(rollout: Rollout): RolloutAudit {
  const shares = rollout.mode === 'canary' ? `steps ${rollout.steps.join('% → ')}%` : `${rollout.steps[0]}%`;
  const why = rollout.reason ? `: ${rollout.reason}` : '';
  return {
    id: `rollout-${rollout.id}-started`,
    entry: {
      ...versions(rollout),
      action: 'rollout_started',
      actor: rollout.actor,
      reason: `${rollout.mode} ${shares} (rollout ${rollout.id})${why}`,
      at: rollout.createdAt,
    },
  };
}

/** The audit entries a change of a rollout writes: each step it passed, a pause or resume, its end. */
function changeEntries(current: Rollout, next: Rollout): RolloutAudit[] {
  // Who made this change: the analyser for a step, whoever paused, resumed or aborted; the starter for older records.
  const base = { ...versions(next), actor: next.changedBy ?? next.actor, at: next.updatedAt };
  const entries: RolloutAudit[] = [];
  for (let index = current.stepIndex; index < next.stepIndex; index++) {
    const step = next.history[index];
    const reason = `step ${index + 1} of ${next.steps.length} (${next.steps[index]}%) ${step?.verdict ?? 'passed'}: ${step?.reason ?? ''}; now at ${next.steps[index + 1]}%`;
    entries.push({ id: `rollout-${next.id}-step-${index}`, entry: { ...base, action: 'rollout_step', reason } });
  }
  const at = `step ${next.stepIndex + 1} (${next.steps[next.stepIndex]}%)`;
  if (current.state === 'running' && next.state === 'paused') {
    entries.push({ id: `rollout-${next.id}-paused-${next.updatedAt}`, entry: { ...base, action: 'rollout_paused', reason: `paused at ${at}` } });
  }
  if (current.state === 'paused' && next.state === 'running') {
    entries.push({ id: `rollout-${next.id}-resumed-${next.updatedAt}`, entry: { ...base, action: 'rollout_resumed', reason: `resumed at ${at}` } });
  }
  if (isActive(current) && !isActive(next)) {
    entries.push({ id: `rollout-${next.id}-ended`, entry: { ...base, action: 'rollout_ended', reason: next.reason } });
  }
  return entries;
}

function versions(rollout: Rollout): Pick<AuditEntry, 'fromVersion' | 'toVersion'> {
  return { fromVersion: rollout.baseline, toVersion: rollout.candidate };
}
