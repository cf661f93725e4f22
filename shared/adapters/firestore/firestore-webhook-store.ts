import { type DocumentReference, Firestore } from '@google-cloud/firestore';
import type { WebhookEventType } from '../../domain/webhooks.js';
import type { DeliveryClaim, WebhookDelivery, WebhookStore, WebhookSubscription } from '../../ports/webhook-store.port.js';
import { transact } from './transactions.js';

/** Options of the Firestore webhook store. */
export interface FirestoreWebhookStoreOptions {
  projectId: string;
  databaseId?: string;
  client?: Firestore;
}

/** A delivery as stored: the record plus the end of the claim a sender holds on it (ms since the epoch, 0 when none). */
type StoredDelivery = WebhookDelivery & { claimedUntil: number };

const DEFAULT_DELIVERY_LIMIT = 50;

/**
 * Webhooks on Firestore: `webhooks/{id}` (url, events, secret, active, createdAt) and
 * `webhooks/{id}/deliveries/{deliveryId}`. A delivery is claimed in a transaction, so two
 * deliveries of one Pub/Sub message contend on its document and only one sends.
 */
export class FirestoreWebhookStore implements WebhookStore {
  private readonly db: Firestore;

  constructor({ projectId, databaseId, client }: FirestoreWebhookStoreOptions) {
    this.db = client ?? new Firestore({ projectId, databaseId, ignoreUndefinedProperties: true });
  }

  async add(subscription: WebhookSubscription): Promise<void> {
    await this.webhookRef(subscription.id).create(subscription);
  }

  async get(id: string): Promise<WebhookSubscription | undefined> {
    return (await this.webhookRef(id).get()).data() as WebhookSubscription | undefined;
  }

  async list(): Promise<WebhookSubscription[]> {
    const snapshot = await this.db.collection('webhooks').orderBy('createdAt').get();
    return snapshot.docs.map((doc) => doc.data() as WebhookSubscription);
  }

  async subscribedTo(event: WebhookEventType): Promise<WebhookSubscription[]> {
    // `active` is filtered here: array-contains with an equality on another field would need a composite index.
    const snapshot = await this.db.collection('webhooks').where('events', 'array-contains', event).get();
    return snapshot.docs.map((doc) => doc.data() as WebhookSubscription).filter((subscription) => subscription.active);
  }

  async remove(id: string): Promise<boolean> {
    const ref = this.webhookRef(id);
    if (!(await ref.get()).exists) return false;
    await this.db.recursiveDelete(ref);
    return true;
  }

  async claimDelivery(
    claim: Pick<WebhookDelivery, 'deliveryId' | 'webhookId' | 'eventId' | 'event'>,
    { now, leaseMs }: { now: Date; leaseMs: number },
  ): Promise<DeliveryClaim> {
    const ref = this.deliveryRef(claim.webhookId, claim.deliveryId);
    return transact(this.db, async (tx) => {
      const stored = (await tx.get(ref)).data() as StoredDelivery | undefined;
      if (stored && isSettled(stored)) return { kind: 'settled', delivery: withoutClaim(stored) };
      if (stored && stored.claimedUntil > now.getTime()) return { kind: 'busy', delivery: withoutClaim(stored) };
      const at = now.toISOString();
      const delivery: WebhookDelivery = stored
        ? { ...withoutClaim(stored), status: 'pending', updatedAt: at }
        : { ...claim, status: 'pending', attempts: 0, lastStatusCode: null, lastError: null, retryable: true, createdAt: at, updatedAt: at, deliveredAt: null };
      tx.set(ref, { ...delivery, claimedUntil: now.getTime() + leaseMs });
      return { kind: 'claimed', delivery };
    });
  }

  async updateDelivery(delivery: WebhookDelivery): Promise<void> {
    // A delivery between tries keeps its claim; any other outcome releases it for the next redelivery.
    const release = delivery.status === 'retrying' ? {} : { claimedUntil: 0 };
    await this.deliveryRef(delivery.webhookId, delivery.deliveryId).set({ ...delivery, ...release }, { merge: true });
  }

  async deliveries(webhookId: string, limit = DEFAULT_DELIVERY_LIMIT): Promise<WebhookDelivery[]> {
    const snapshot = await this.webhookRef(webhookId).collection('deliveries').orderBy('createdAt', 'desc').limit(limit).get();
    return snapshot.docs.map((doc) => withoutClaim(doc.data() as StoredDelivery));
  }

  async close(): Promise<void> {
    await this.db.terminate();
  }

  private webhookRef(id: string): DocumentReference {
    return this.db.collection('webhooks').doc(id);
  }

  private deliveryRef(webhookId: string, deliveryId: string): DocumentReference {
    return this.webhookRef(webhookId).collection('deliveries').doc(deliveryId);
  }
}

function isSettled(delivery: WebhookDelivery): boolean {
  return delivery.status === 'delivered' || (delivery.status === 'failed' && !delivery.retryable);
}

function withoutClaim({ claimedUntil: _claimedUntil, ...delivery }: StoredDelivery): WebhookDelivery {
  return delivery;
}
