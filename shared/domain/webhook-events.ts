import type { z } from 'zod';
import { ModelPromoted, ModelRegistered, RolloutChanged } from './events.js';
import { alertText, DriftAlert } from './monitoring-events.js';
import { isActive } from './rollout.js';
import { stableId, type WebhookBody, type WebhookEventType, type WebhookSourceTopic } from './webhooks.js';

/** How one source topic's events become webhook events: the schema they enter with, and the conversion (undefined: not a webhook event). */
export interface WebhookSource {
  schema: z.ZodType<unknown>;
  toWebhook(event: unknown): WebhookBody | undefined;
}

// Pairs a schema with its conversion; the conversion only ever sees what the schema accepted.
const source = <T>(schema: z.ZodType<T>, toWebhook: (event: T) => WebhookBody | undefined): WebhookSource => ({
  schema,
  toWebhook: (event) => toWebhook(event as T),
});

// Every id derives from what the source event says, not from when it arrived: a redelivered message
// makes the same event, so each subscription's delivery of it is recorded, and posted, once.
const body = (event: WebhookEventType, key: string[], createdAt: string, data: Record<string, unknown>): WebhookBody => ({
  id: stableId('evt', event, ...key),
  event,
  created_at: createdAt,
  data,
});

const fromRegistered = source(ModelRegistered, (event) =>
  body('model_version.created', [event.model, String(event.version)], event.registeredAt, {
    model: event.model,
    version: event.version,
    artifact_uri: event.artifactUri,
    sha256: event.sha256,
  }),
);

const fromPromoted = source(ModelPromoted, (event) =>
  body('alias.changed', [event.model, event.alias, String(event.version), event.promotedAt], event.promotedAt, {
    model: event.model,
    alias: event.alias,
    version: event.version,
    previous_version: event.previousVersion,
    actor: event.actor,
  }),
);

// rollout-changed also announces starts, steps, pauses and resumes; only an end is a webhook event.
const fromRolloutChanged = source(RolloutChanged, (event) =>
  isActive(event)
    ? undefined
    : body('rollout.finished', [event.model, event.rolloutId], event.changedAt, {
        model: event.model,
        rollout_id: event.rolloutId,
        state: event.state,
        step_index: event.stepIndex,
      }),
);

const fromAlert = source(DriftAlert, (alert) =>
  body('alert.opened', [alert.alertId], alert.openedAt, {
    alert_id: alert.alertId,
    model: alert.model,
    version: alert.version,
    feature: alert.feature,
    method: alert.method,
    value: alert.value,
    threshold: alert.threshold,
    window_start: alert.windowStart,
    window_end: alert.windowEnd,
    reference: alert.reference,
    reference_size: alert.referenceSize,
    current_size: alert.currentSize,
    text: alertText(alert),
    ...(alert.report ? { report: alert.report } : {}),
  }),
);

/** The conversion for each source topic. */
export const WEBHOOK_SOURCES: Record<WebhookSourceTopic, WebhookSource> = {
  'model-registered': fromRegistered,
  'model-promoted': fromPromoted,
  'rollout-changed': fromRolloutChanged,
  'drift-alerts': fromAlert,
};

/** The `test` event `mlops webhooks test` sends: a fresh id each time, so every test is posted and recorded. */
export function testWebhookEvent(webhookId: string, now: Date, nonce: string): WebhookBody {
  return body('test', [webhookId, now.toISOString(), nonce], now.toISOString(), {
    webhook_id: webhookId,
    message: 'A test delivery from mlops webhooks test: the signature verifies with the secret shown at creation.',
  });
}
