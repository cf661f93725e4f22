import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DriftAlert } from '../../../../shared/domain/monitoring-events.js';
import { testWebhookEvent, WEBHOOK_SOURCES } from '../../../../shared/domain/webhook-events.js';
import {
  deliveryIdOf,
  parseWebhookEvents,
  parseWebhookUrl,
  signedWebhookHeaders,
  signWebhook,
  verifyWebhookSignature,
  WEBHOOK_HEADERS,
} from '../../../../shared/domain/webhooks.js';
import { platformError } from '../../../support/errors.js';
import { FIXTURES } from '../../../support/paths.js';

interface Reference {
  cases: { name: string; secret: string; deliveryId: string; timestamp: string; body: string; signature: string }[];
}
const reference = JSON.parse(readFileSync(join(FIXTURES, 'webhook-signature-reference.json'), 'utf8')) as Reference;

const SECRET = 'whsec_c2VjcmV0LWZvci10ZXN0cw==';
const NOW = new Date('2026-12-02T10:00:00.000Z');
const BODY = JSON.stringify({ id: 'evt_1', event: 'test', created_at: NOW.toISOString(), data: { note: 'café 🚀' } });

/** The headers as Node's http server hands them to a receiver: lower-cased names. */
const asReceived = (headers: Record<string, string>) => Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
const signed = (at = NOW) => asReceived(signedWebhookHeaders(SECRET, { deliveryId: 'dlv_1', body: BODY, now: at }));

describe('signing a delivery', () => {
  it.each(reference.cases)('gives the signature Python’s hmac gives, as MLflow signs: $name', ({ secret, deliveryId, timestamp, body, signature }) => {
    expect(signWebhook(secret, deliveryId, timestamp, body)).toBe(signature);
  });

  it('sends the delivery id, the unix-seconds timestamp and the signature over exactly those', () => {
    const headers = signedWebhookHeaders(SECRET, { deliveryId: 'dlv_1', body: BODY, now: new Date('2026-12-02T10:00:00.999Z') });
    expect(headers[WEBHOOK_HEADERS.deliveryId]).toBe('dlv_1');
    expect(headers[WEBHOOK_HEADERS.timestamp]).toBe('1796205600');
    expect(headers[WEBHOOK_HEADERS.signature]).toBe(signWebhook(SECRET, 'dlv_1', '1796205600', BODY));
    expect(headers['content-type']).toBe('application/json');
  });
});

describe('verifying a delivery', () => {
  it.each(reference.cases)('accepts the reference signature: $name', ({ secret, deliveryId, timestamp, body, signature }) => {
    const headers = { 'x-mlops-delivery-id': deliveryId, 'x-mlops-timestamp': timestamp, 'x-mlops-signature': signature };
    expect(verifyWebhookSignature(secret, headers, body, { now: new Date(Number(timestamp) * 1000) })).toEqual({
      valid: true,
      deliveryId,
      timestamp: Number(timestamp),
    });
  });

  it('reads a fetch Headers object as well as Node’s lower-cased headers', () => {
    const headers = new Headers(signedWebhookHeaders(SECRET, { deliveryId: 'dlv_1', body: BODY, now: NOW }));
    expect(verifyWebhookSignature(SECRET, headers, BODY, { now: NOW }).valid).toBe(true);
  });

  it('accepts a timestamp up to the tolerance away, either way, and refuses one past it as a replay', () => {
    const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);
    expect(verifyWebhookSignature(SECRET, signed(), BODY, { now: at(300) }).valid).toBe(true);
    expect(verifyWebhookSignature(SECRET, signed(), BODY, { now: at(-300) }).valid).toBe(true);
    expect(verifyWebhookSignature(SECRET, signed(), BODY, { now: at(301) })).toEqual({ valid: false, reason: expect.stringContaining('more than 300 s') });
    expect(verifyWebhookSignature(SECRET, signed(), BODY, { now: at(-301) }).valid).toBe(false);
    expect(verifyWebhookSignature(SECRET, signed(), BODY, { now: at(31), toleranceSeconds: 30 }).valid).toBe(false);
  });

  it('refuses a body, delivery id or timestamp changed after signing, and another secret', () => {
    const headers = signed();
    const tampered = [
      verifyWebhookSignature(SECRET, headers, BODY.replace('café', 'cafe'), { now: NOW }),
      verifyWebhookSignature(SECRET, { ...headers, 'x-mlops-delivery-id': 'dlv_2' }, BODY, { now: NOW }),
      verifyWebhookSignature(SECRET, { ...headers, 'x-mlops-timestamp': String(Number(headers['x-mlops-timestamp']) + 1) }, BODY, { now: NOW }),
      verifyWebhookSignature(`${SECRET}x`, headers, BODY, { now: NOW }),
      verifyWebhookSignature(SECRET, { ...headers, 'x-mlops-signature': headers['x-mlops-signature']!.replace('v1,', 'v2,') }, BODY, { now: NOW }),
    ];
    for (const result of tampered) expect(result).toEqual({ valid: false, reason: 'no signature matches the body' });
  });

  it('accepts any one of several space-separated signatures, as while a secret is rotated', () => {
    const headers = signed();
    const both = { ...headers, 'x-mlops-signature': `v1,bm90LXRoZS1yaWdodC1vbmU= ${headers['x-mlops-signature']}` };
    expect(verifyWebhookSignature(SECRET, both, BODY, { now: NOW }).valid).toBe(true);
  });

  it('says which header is missing or malformed', () => {
    const { 'x-mlops-signature': _signature, ...unsigned } = signed();
    expect(verifyWebhookSignature(SECRET, unsigned, BODY, { now: NOW })).toEqual({ valid: false, reason: expect.stringContaining(WEBHOOK_HEADERS.signature) });
    expect(verifyWebhookSignature(SECRET, { ...signed(), 'x-mlops-timestamp': '2026-12-02T10:00:00Z' }, BODY, { now: NOW })).toEqual({
      valid: false,
      reason: expect.stringContaining('is not unix seconds'),
    });
  });
});

describe('subscription input', () => {
  it('takes comma-separated events once each, and names the unknown ones with the known list', () => {
    expect(parseWebhookEvents(' alias.changed,model_version.created,alias.changed ')).toEqual(['alias.changed', 'model_version.created']);
    const error = platformError(() => parseWebhookEvents('model_version.created,model.deleted,test'));
    expect(error.code).toBe('WEBHOOK.INVALID');
    expect(error.message).toContain('Unknown webhook events: model.deleted, test');
    expect(error.message).toContain('rollout.finished');
    expect(platformError(() => parseWebhookEvents(' , ')).message).toContain('No events given');
  });

  it('takes absolute http and https URLs only', () => {
    expect(parseWebhookUrl('https://ci.example.com/hooks?x=1')).toBe('https://ci.example.com/hooks?x=1');
    expect(parseWebhookUrl('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080/');
    for (const bad of ['ftp://example.com/x', '/hooks', 'example.com']) expect(platformError(() => parseWebhookUrl(bad)).code).toBe('WEBHOOK.INVALID');
  });
});

describe('webhook events from the platform’s events', () => {
  const registered = { schemaVersion: 1, model: 'churn', version: 3, artifactUri: 'gs://m/churn.onnx', sha256: 'ab', registeredAt: '2026-12-02T09:00:00.000Z' };
  const rollout = { schemaVersion: 1, model: 'churn', rolloutId: 'r1', stepIndex: 2, changedAt: '2026-12-02T09:30:00.000Z' };

  it('makes model_version.created from model-registered, with the same id for the same event (a redelivery)', () => {
    const source = WEBHOOK_SOURCES['model-registered'];
    const body = source.toWebhook(source.schema.parse(registered));
    expect(body).toEqual({
      id: expect.stringMatching(/^evt_[0-9a-f]{32}$/),
      event: 'model_version.created',
      created_at: registered.registeredAt,
      data: { model: 'churn', version: 3, artifact_uri: 'gs://m/churn.onnx', sha256: 'ab' },
    });
    expect(source.toWebhook(source.schema.parse({ ...registered }))?.id).toBe(body?.id);
    expect(source.toWebhook(source.schema.parse({ ...registered, version: 4 }))?.id).not.toBe(body?.id);
  });

  it('makes rollout.finished only when a rollout ended', () => {
    const source = WEBHOOK_SOURCES['rollout-changed'];
    expect(source.toWebhook(source.schema.parse({ ...rollout, state: 'running' }))).toBeUndefined();
    expect(source.toWebhook(source.schema.parse({ ...rollout, state: 'paused' }))).toBeUndefined();
    expect(source.toWebhook(source.schema.parse({ ...rollout, state: 'rolled_back' }))).toMatchObject({
      event: 'rollout.finished',
      data: { model: 'churn', rollout_id: 'r1', state: 'rolled_back', step_index: 2 },
    });
  });

  it('makes alias.changed and alert.opened, the alert with its sentence', () => {
    const promoted = WEBHOOK_SOURCES['model-promoted'];
    const move = {
      schemaVersion: 1,
      model: 'churn',
      alias: 'production',
      version: 3,
      previousVersion: 2,
      actor: 'ana',
      promotedAt: '2026-12-02T09:10:00.000Z',
    };
    expect(promoted.toWebhook(promoted.schema.parse(move))?.data).toEqual({
      model: 'churn',
      alias: 'production',
      version: 3,
      previous_version: 2,
      actor: 'ana',
    });
    const alerts = WEBHOOK_SOURCES['drift-alerts'];
    const alert: DriftAlert = {
      schemaVersion: 1,
      alertId: 'a1',
      model: 'churn',
      version: 3,
      feature: 'tenure',
      method: 'psi',
      value: 0.4,
      threshold: 0.2,
      windowStart: '2026-12-02T08:00:00.000Z',
      windowEnd: '2026-12-02T09:00:00.000Z',
      reference: 'training',
      referenceSize: 100,
      currentSize: 50,
      openedAt: '2026-12-02T09:05:00.000Z',
    };
    const body = alerts.toWebhook(alerts.schema.parse(alert));
    expect(body).toMatchObject({ event: 'alert.opened', created_at: alert.openedAt, data: { alert_id: 'a1', feature: 'tenure', value: 0.4 } });
    expect(body?.data.text).toContain('churn v3');
  });

  it('gives each test event its own id, and each subscription its own delivery id', () => {
    expect(testWebhookEvent('wh_1', NOW, 'a').id).not.toBe(testWebhookEvent('wh_1', NOW, 'b').id);
    expect(deliveryIdOf('evt_1', 'wh_1')).toBe(deliveryIdOf('evt_1', 'wh_1'));
    expect(deliveryIdOf('evt_1', 'wh_1')).not.toBe(deliveryIdOf('evt_1', 'wh_2'));
  });
});
