import { Firestore } from '@google-cloud/firestore';
import { type EpisodeStep, type RetrainEpisode, type RunVerdict, stepEpisode } from '../../domain/retrain.js';
import type { RetrainDelivery, RetrainStore } from '../../ports/retrain-store.port.js';
import { docId, transact } from './transactions.js';

/** Options of the Firestore retrain store. */
export interface FirestoreRetrainStoreOptions {
  projectId: string;
  databaseId?: string;
  client?: Firestore;
}

/**
 * RetrainStore on Firestore: `retrain_episodes/{model}`, `retrain_requests/{id hash}` (the window
 * export) and `retrain_requests/{id hash}/deliveries/{target}`.
 */
export class FirestoreRetrainStore implements RetrainStore {
  private readonly db: Firestore;

  constructor({ projectId, databaseId = '(default)', client }: FirestoreRetrainStoreOptions) {
    this.db = client ?? new Firestore({ projectId, databaseId, ignoreUndefinedProperties: true });
  }

  stepEpisode(verdict: RunVerdict): Promise<EpisodeStep> {
    return transact(this.db, async (tx) => {
      const ref = this.episodeRef(verdict.model);
      const step = stepEpisode((await tx.get(ref)).data() as RetrainEpisode | undefined, verdict);
      if (step.changed && step.episode) tx.set(ref, step.episode);
      return step;
    });
  }

  async markPublished(model: string, requestId: string): Promise<void> {
    await transact(this.db, async (tx) => {
      const ref = this.episodeRef(model);
      const episode = (await tx.get(ref)).data() as RetrainEpisode | undefined;
      if (episode?.requestId === requestId) tx.update(ref, { published: true });
    });
  }

  async getEpisode(model: string): Promise<RetrainEpisode | undefined> {
    return (await this.episodeRef(model).get()).data() as RetrainEpisode | undefined;
  }

  async getDelivery(requestId: string, target: string): Promise<RetrainDelivery | undefined> {
    return (await this.deliveryRef(requestId, target).get()).data() as RetrainDelivery | undefined;
  }

  recordDelivery(requestId: string, target: string, { delivered, error, at }: { delivered: boolean; error?: string; at: string }): Promise<RetrainDelivery> {
    return transact(this.db, async (tx) => {
      const ref = this.deliveryRef(requestId, target);
      const previous = (await tx.get(ref)).data() as RetrainDelivery | undefined;
      const status = delivered || previous?.status === 'delivered' ? 'delivered' : 'failed';
      const next: RetrainDelivery = {
        requestId,
        target,
        status,
        attempts: (previous?.attempts ?? 0) + 1,
        lastError: error ?? previous?.lastError,
        updatedAt: at,
      };
      tx.set(ref, next);
      return next;
    });
  }

  async getWindowExport(requestId: string): Promise<string | undefined> {
    return ((await this.requestRef(requestId).get()).data() as { windowExport?: string } | undefined)?.windowExport;
  }

  async recordWindowExport(requestId: string, uri: string): Promise<void> {
    await this.requestRef(requestId).set({ requestId, windowExport: uri }, { merge: true });
  }

  /** Releases the client's connections. */
  async close(): Promise<void> {
    await this.db.terminate();
  }

  private episodeRef(model: string) {
    return this.db.collection('retrain_episodes').doc(model);
  }

  private requestRef(requestId: string) {
    return this.db.collection('retrain_requests').doc(docId(requestId));
  }

  private deliveryRef(requestId: string, target: string) {
    return this.requestRef(requestId).collection('deliveries').doc(docId(target));
  }
}
