import { PlatformError } from '../domain/errors.js';
import { deliveryIdOf, signedWebhookHeaders, type WebhookBody } from '../domain/webhooks.js';
import { type Clock, systemClock } from '../ports/clock.port.js';
import type { WebhookDelivery, WebhookStore, WebhookSubscription } from '../ports/webhook-store.port.js';

/** How hard one call tries a receiver before it leaves the rest to Pub/Sub's redelivery. */
export interface WebhookRetryOptions {
  /** HTTP requests per subscription within one call. */
  attempts?: number;
  /** The wait after the first failure; it doubles after each one (MLflow's backoff factor of 1 s). */
  firstBackoffMs?: number;
  /** The most one call spends on a subscription, waits and requests together. */
  budgetMs?: number;
}

/** What delivering needs. */
export interface WebhookDeliveryDeps {
  store: WebhookStore;
  clock?: Clock;
  /** The HTTP client; tests may pass their own. */
  post?: typeof fetch;
  retry?: WebhookRetryOptions;
}

/** How one event's delivery to one subscription ended in this call. */
export interface SubscriptionOutcome {
  webhookId: string;
  url: string;
  deliveryId: string;
  /** `settled`: delivered (or failed for good) by an earlier delivery of the message, so not sent again. `busy`: another delivery is sending it. */
  status: 'delivered' | 'failed' | 'settled' | 'busy';
  statusCode: number | null;
  error: string | null;
  attempts: number;
  /** Whether a redelivery would try it again. */
  retryable: boolean;
}

const DEFAULTS = { attempts: 3, firstBackoffMs: 1000, budgetMs: 10_000 } satisfies Required<WebhookRetryOptions>;
// A claim outlives the call's budget, so a sender that died mid-call does not block redeliveries for long.
const LEASE_MARGIN_MS = 30_000;
const ERROR_TEXT_LIMIT = 300;

/**
 * Delivers one event to every active subscription that asked for it, each once: a subscription that
 * got it from an earlier delivery of the message is skipped. A receiver that answers 429 or 5xx, or
 * not at all, is retried with a doubling backoff within the call; one still failing after that makes
 * the call throw a transient WEBHOOK.DELIVERY_FAILED, so Pub/Sub redelivers the message and only those
 * are tried again. Any other 4xx is recorded `failed` at once: resending can never succeed.
 */
export async function deliverWebhookEvent(event: WebhookBody, deps: WebhookDeliveryDeps): Promise<SubscriptionOutcome[]> {
  const subscriptions = await deps.store.subscribedTo(event.event);
  const outcomes = await Promise.all(subscriptions.map((subscription) => deliverToSubscription(subscription, event, deps)));
  const failing = outcomes.filter((outcome) => outcome.retryable && (outcome.status === 'failed' || outcome.status === 'busy'));
  if (failing.length > 0) {
    const which = failing.map((outcome) => `${outcome.webhookId} (${outcome.url}): ${outcome.error ?? outcome.status}`).join('; ');
    throw new PlatformError('WEBHOOK.DELIVERY_FAILED', `Event ${event.id} (${event.event}) is not delivered to ${which}; Pub/Sub will redeliver it.`, {
      permanent: false,
      details: { eventId: event.id, webhooks: failing.map((outcome) => outcome.webhookId) },
    });
  }
  return outcomes;
}

/** Delivers one event to one subscription (whatever events it asked for), recording every try in its history. */
export async function deliverToSubscription(subscription: WebhookSubscription, event: WebhookBody, deps: WebhookDeliveryDeps): Promise<SubscriptionOutcome> {
  const { store, clock = systemClock } = deps;
  const retry = { ...DEFAULTS, ...deps.retry };
  const deliveryId = deliveryIdOf(event.id, subscription.id);
  const claim = await store.claimDelivery(
    { deliveryId, webhookId: subscription.id, eventId: event.id, event: event.event },
    { now: clock.now(), leaseMs: retry.budgetMs + LEASE_MARGIN_MS },
  );
  if (claim.kind !== 'claimed') return outcomeOf(subscription, claim.delivery, claim.kind === 'busy' ? 'busy' : 'settled');
  const delivery = await sendWithRetries(subscription, event, claim.delivery, { ...deps, clock, retry });
  return outcomeOf(subscription, delivery, delivery.status === 'delivered' ? 'delivered' : 'failed');
}

type SendDeps = WebhookDeliveryDeps & { clock: Clock; retry: Required<WebhookRetryOptions> };

async function sendWithRetries(subscription: WebhookSubscription, event: WebhookBody, claimed: WebhookDelivery, deps: SendDeps): Promise<WebhookDelivery> {
  const { store, clock, retry } = deps;
  const body = JSON.stringify(event);
  const deadline = performance.now() + retry.budgetMs;
  let delivery = claimed;
  for (let attempt = 1; ; attempt++) {
    const answer = await postOnce(subscription, delivery.deliveryId, body, { ...deps, timeoutMs: Math.max(1, Math.ceil(deadline - performance.now())) });
    const at = clock.now().toISOString();
    delivery = {
      ...delivery,
      attempts: delivery.attempts + 1,
      lastStatusCode: answer.statusCode,
      lastError: answer.error,
      retryable: answer.retryable,
      updatedAt: at,
    };
    const waitMs = Math.max(retry.firstBackoffMs * 2 ** (attempt - 1), answer.retryAfterMs);
    const final = answer.ok || !answer.retryable || attempt >= retry.attempts || performance.now() + waitMs >= deadline;
    delivery = { ...delivery, status: answer.ok ? 'delivered' : final ? 'failed' : 'retrying', deliveredAt: answer.ok ? at : null };
    await store.updateDelivery(delivery);
    if (final) return delivery;
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}

interface Answer {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  retryable: boolean;
  retryAfterMs: number;
}

/** One signed POST; never throws: no answer (refused, reset, timed out) is a retryable failure. */
async function postOnce(
  subscription: WebhookSubscription,
  deliveryId: string,
  body: string,
  { post = fetch, clock, timeoutMs }: SendDeps & { timeoutMs: number },
): Promise<Answer> {
  const headers = signedWebhookHeaders(subscription.secret, { deliveryId, body, now: clock.now() });
  try {
    // Redirects are not followed: a POST would turn into a GET, and the signature was made for this URL's receiver.
    const response = await post(subscription.url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    const text = (await response.text().catch(() => '')).slice(0, ERROR_TEXT_LIMIT);
    if (response.ok) return { ok: true, statusCode: response.status, error: null, retryable: false, retryAfterMs: 0 };
    const retryable = response.status === 429 || response.status >= 500;
    const error = `${response.status} ${text || response.statusText}`.trim();
    return { ok: false, statusCode: response.status, error, retryable, retryAfterMs: retryAfterMs(response.headers.get('retry-after')) };
  } catch (error) {
    return { ok: false, statusCode: null, error: `no answer: ${(error as Error).message}`.slice(0, ERROR_TEXT_LIMIT), retryable: true, retryAfterMs: 0 };
  }
}

/** A Retry-After of delay-seconds; an HTTP date or nothing is no extra wait. */
function retryAfterMs(value: string | null): number {
  return value && /^\d+$/.test(value) ? Number(value) * 1000 : 0;
}

function outcomeOf(subscription: WebhookSubscription, delivery: WebhookDelivery, status: SubscriptionOutcome['status']): SubscriptionOutcome {
  return {
    webhookId: subscription.id,
    url: subscription.url,
    deliveryId: delivery.deliveryId,
    status,
    statusCode: delivery.lastStatusCode,
    error: delivery.lastError,
    attempts: delivery.attempts,
    retryable: status === 'busy' || (status === 'failed' && delivery.retryable),
  };
}
