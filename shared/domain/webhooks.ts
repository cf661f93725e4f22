import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { PlatformError } from './errors.js';
import { TOPICS } from './topics.js';

// Signed as MLflow 3 signs its registry webhooks (mlflow/webhooks/delivery.py, `_generate_hmac_signature`,
// after the Standard Webhooks convention): HMAC-SHA256 keyed by the secret's UTF-8 bytes over
// "<delivery id>.<unix seconds>.<body>", sent base64-encoded as "v1,<signature>" beside the delivery id
// and timestamp headers. Only the header names differ (X-MLOps-* for X-MLflow-*).

/** Every event a subscription can ask for; `test` is sent only by `mlops webhooks test`. */
export const WEBHOOK_EVENTS = ['model_version.created', 'alias.changed', 'rollout.finished', 'alert.opened', 'test'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

/** The topics whose events become webhook events; deliver-webhooks has one subscription on each. */
export const WEBHOOK_SOURCE_TOPICS = [TOPICS.modelRegistered, TOPICS.modelPromoted, TOPICS.rolloutChanged, TOPICS.driftAlerts] as const;
export type WebhookSourceTopic = (typeof WEBHOOK_SOURCE_TOPICS)[number];

/** The headers of a delivery, named once for the sender and every receiver. */
export const WEBHOOK_HEADERS = {
  deliveryId: 'X-MLOps-Delivery-Id',
  timestamp: 'X-MLOps-Timestamp',
  signature: 'X-MLOps-Signature',
} as const;

/** The version prefix of a signature, as in MLflow's `WEBHOOK_SIGNATURE_VERSION`. */
export const SIGNATURE_VERSION = 'v1';

/** How far a delivery's timestamp may be from the receiver's clock before it is refused as a replay. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** The JSON body of every delivery. `id` is the same on every retry and redelivery of one event. */
export interface WebhookBody {
  id: string;
  event: WebhookEventType;
  created_at: string;
  data: Record<string, unknown>;
}

/** The signature header's value for one delivery: `v1,<base64 HMAC-SHA256 of "<delivery id>.<timestamp>.<body>">`. */
export function signWebhook(secret: string, deliveryId: string, timestamp: string, body: string): string {
  const signature = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${deliveryId}.${timestamp}.${body}`, 'utf8').digest('base64');
  return `${SIGNATURE_VERSION},${signature}`;
}

/** The headers to POST `body` with: content type, delivery id, timestamp (unix seconds of `now`) and signature. */
export function signedWebhookHeaders(secret: string, { deliveryId, body, now }: { deliveryId: string; body: string; now: Date }): Record<string, string> {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  return {
    'content-type': 'application/json',
    [WEBHOOK_HEADERS.deliveryId]: deliveryId,
    [WEBHOOK_HEADERS.timestamp]: timestamp,
    [WEBHOOK_HEADERS.signature]: signWebhook(secret, deliveryId, timestamp, body),
  };
}

/** Headers as a receiver holds them: a fetch `Headers`, or Node's lower-cased `IncomingHttpHeaders`. */
export type ReceivedHeaders = Headers | Record<string, string | string[] | undefined>;

/** What a receiver learns from {@link verifyWebhookSignature}. */
export type WebhookVerification = { valid: true; deliveryId: string; timestamp: number } | { valid: false; reason: string };

export interface VerifyOptions {
  toleranceSeconds?: number;
  now?: Date;
}

/**
 * Checks a delivery as a receiver should: the three headers are present, the timestamp is within
 * `toleranceSeconds` of `now` (so a captured request cannot be replayed later) and one of the
 * space-separated `v1,` signatures matches, compared in constant time. `body` is the raw body as received.
 */
export function verifyWebhookSignature(
  secret: string,
  headers: ReceivedHeaders,
  body: string,
  { toleranceSeconds = DEFAULT_TOLERANCE_SECONDS, now = new Date() }: VerifyOptions = {},
): WebhookVerification {
  const deliveryId = headerOf(headers, WEBHOOK_HEADERS.deliveryId);
  const timestamp = headerOf(headers, WEBHOOK_HEADERS.timestamp);
  const signatures = headerOf(headers, WEBHOOK_HEADERS.signature);
  if (!deliveryId || !timestamp || !signatures) return { valid: false, reason: `missing one of ${Object.values(WEBHOOK_HEADERS).join(', ')}` };
  if (!/^\d+$/.test(timestamp)) return { valid: false, reason: `${WEBHOOK_HEADERS.timestamp} "${timestamp}" is not unix seconds` };
  const seconds = Number(timestamp);
  if (Math.abs(now.getTime() / 1000 - seconds) > toleranceSeconds)
    return { valid: false, reason: `${WEBHOOK_HEADERS.timestamp} ${timestamp} is more than ${toleranceSeconds} s from now` };
  const expected = Buffer.from(signWebhook(secret, deliveryId, timestamp, body));
  const matches = signatures.split(' ').some((candidate) => {
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return matches ? { valid: true, deliveryId, timestamp: seconds } : { valid: false, reason: 'no signature matches the body' };
}

function headerOf(headers: ReceivedHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = headers[name.toLowerCase()] ?? headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A short, stable id (hex of SHA-256 over the parts), safe as a Firestore document id. */
export function stableId(prefix: string, ...parts: string[]): string {
  return `${prefix}_${createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32)}`;
}

/** The delivery id of one event to one subscription: the same on every retry, so a receiver can drop duplicates. */
export function deliveryIdOf(eventId: string, webhookId: string): string {
  return stableId('dlv', webhookId, eventId);
}

/** The events of `mlops webhooks add --events a,b`, or a clear error naming the unknown ones. */
export function parseWebhookEvents(text: string): WebhookEventType[] {
  const names = [
    ...new Set(
      text
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean),
    ),
  ];
  const known = WEBHOOK_EVENTS.filter((event) => event !== 'test');
  const unknown = names.filter((name) => !(known as readonly string[]).includes(name));
  if (names.length === 0 || unknown.length > 0)
    throw new PlatformError(
      'WEBHOOK.INVALID',
      `${names.length === 0 ? 'No events given' : `Unknown webhook events: ${unknown.join(', ')}`}. Name one or more of ${known.join(', ')}, joined by commas.`,
    );
  return names as WebhookEventType[];
}

/** The receiver's URL, checked: absolute http or https. */
export function parseWebhookUrl(text: string): string {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new PlatformError('WEBHOOK.INVALID', `Webhook URL "${text}" is not an absolute http(s) URL. Give one such as https://ci.example.com/hooks/mlops.`);
  return url.toString();
}
