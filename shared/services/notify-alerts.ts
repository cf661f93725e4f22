import { PlatformError } from '../domain/errors.js';
import { alertText, type DriftAlert } from '../domain/monitoring-events.js';

/** Where and how an alert goes out. */
export interface NotifyOptions {
  /** A Slack-compatible incoming webhook; without one the alert is only logged. */
  webhookUrl?: string;
  /** The HTTP client; tests may pass their own. */
  post?: typeof fetch;
  timeoutMs?: number;
}

/**
 * Posts an alert as `{"text": ...}` to the webhook. A refusal (4xx other than 429) can never
 * succeed, so it is a permanent ALERT.WEBHOOK_REFUSED (dead-lettered); a 429, a 5xx or a network
 * failure throws a plain error so Pub/Sub retries the delivery.
 */
export async function notifyAlert(
  alert: DriftAlert,
  { webhookUrl, post = fetch, timeoutMs = 10_000 }: NotifyOptions,
): Promise<{ delivered: boolean; text: string }> {
  const text = alertText(alert);
  if (!webhookUrl) return { delivered: false, text };
  const response = await post(webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (response.ok) return { delivered: true, text };
  const answer = (await response.text().catch(() => '')).slice(0, 200);
  if (response.status === 429 || response.status >= 500) throw new Error(`The alert webhook answered ${response.status} ${answer}; retrying.`);
  throw new PlatformError('ALERT.WEBHOOK_REFUSED', `The alert webhook refused alert ${alert.alertId}: ${response.status} ${answer}`, {
    details: { status: response.status },
  });
}
