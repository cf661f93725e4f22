import type { WebhookEventType } from '../domain/webhooks.js';

/** A receiver of webhook events: where they go, which ones, and the secret they are signed with. */
export interface WebhookSubscription {
  id: string;
  url: string;
  events: WebhookEventType[];
  /** Kept to sign deliveries; shown to the user once, when the subscription is added. */
  secret: string;
  active: boolean;
  createdAt: string;
}

/**
 * Where one event's delivery to one subscription stands. `pending` while a send holds it, `retrying`
 * between tries, `delivered` once the receiver answered 2xx, `failed` when the tries ran out.
 */
export type WebhookDeliveryStatus = 'pending' | 'retrying' | 'delivered' | 'failed';

/** One event's delivery to one subscription, as `mlops webhooks deliveries` lists it. */
export interface WebhookDelivery {
  deliveryId: string;
  webhookId: string;
  eventId: string;
  event: WebhookEventType;
  status: WebhookDeliveryStatus;
  /** HTTP requests made so far, over every delivery of the message. */
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  /** For `failed`: whether a redelivery of the message tries again (a 429, a 5xx, no answer) or never (any other 4xx). */
  retryable: boolean;
  createdAt: string;
  updatedAt: string;
  deliveredAt: string | null;
}

/** What {@link WebhookStore.claimDelivery} found. */
export type DeliveryClaim =
  /** This caller may send; `delivery` is the record as it now stands (status `pending`). */
  | { kind: 'claimed'; delivery: WebhookDelivery }
  /** Nothing to send: delivered already, or failed for good. */
  | { kind: 'settled'; delivery: WebhookDelivery }
  /** Another delivery of the same message is sending now. */
  | { kind: 'busy'; delivery: WebhookDelivery };

/** Webhook subscriptions and each one's delivery history. */
export interface WebhookStore {
  add(subscription: WebhookSubscription): Promise<void>;
  get(id: string): Promise<WebhookSubscription | undefined>;
  /** Every subscription, oldest first. */
  list(): Promise<WebhookSubscription[]>;
  /** The active subscriptions that asked for `event`. */
  subscribedTo(event: WebhookEventType): Promise<WebhookSubscription[]>;
  /** Removes a subscription and its history; false when there was none. */
  remove(id: string): Promise<boolean>;
  /**
   * Takes one event's delivery to one subscription for `leaseMs`, atomically: two deliveries of the same
   * message never both send, and one that was delivered (or failed for good) is never sent again.
   */
  claimDelivery(
    claim: Pick<WebhookDelivery, 'deliveryId' | 'webhookId' | 'eventId' | 'event'>,
    { now, leaseMs }: { now: Date; leaseMs: number },
  ): Promise<DeliveryClaim>;
  /** Records how a claimed delivery went (and, unless it is still `retrying`, ends the claim). */
  updateDelivery(delivery: WebhookDelivery): Promise<void>;
  /** A subscription's deliveries, newest first. */
  deliveries(webhookId: string, limit?: number): Promise<WebhookDelivery[]>;
}
