import { randomBytes, randomUUID } from 'node:crypto';
import { PlatformError } from '../domain/errors.js';
import { testWebhookEvent } from '../domain/webhook-events.js';
import { parseWebhookEvents, parseWebhookUrl } from '../domain/webhooks.js';
import { type Clock, systemClock } from '../ports/clock.port.js';
import type { WebhookStore, WebhookSubscription } from '../ports/webhook-store.port.js';
import { deliverToSubscription, type SubscriptionOutcome, type WebhookDeliveryDeps } from './webhook-delivery.js';

/** Adds a subscription from the user's URL and comma-separated events, with a new secret (returned once, in the subscription). */
export async function addWebhook(
  { url, events }: { url: string; events: string },
  { store, clock = systemClock }: { store: WebhookStore; clock?: Clock },
): Promise<WebhookSubscription> {
  const subscription: WebhookSubscription = {
    id: `wh_${randomBytes(8).toString('hex')}`,
    url: parseWebhookUrl(url),
    events: parseWebhookEvents(events),
    // 32 random bytes, as Standard Webhooks' `whsec_` secrets; the whole string is the HMAC key, as in MLflow.
    secret: `whsec_${randomBytes(32).toString('base64')}`,
    active: true,
    createdAt: clock.now().toISOString(),
  };
  await store.add(subscription);
  return subscription;
}

/** The subscription with this id, or WEBHOOK.NOT_FOUND saying how to list them. */
export async function requireWebhook(store: WebhookStore, id: string): Promise<WebhookSubscription> {
  const subscription = await store.get(id);
  if (!subscription) throw new PlatformError('WEBHOOK.NOT_FOUND', `No webhook "${id}". List them with: mlops webhooks list`);
  return subscription;
}

/** Sends a `test` event to one subscription now and records it in its history. */
export async function sendTestWebhook(id: string, deps: WebhookDeliveryDeps): Promise<SubscriptionOutcome> {
  const subscription = await requireWebhook(deps.store, id);
  const event = testWebhookEvent(subscription.id, (deps.clock ?? systemClock).now(), randomUUID());
  return deliverToSubscription(subscription, event, deps);
}
