import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFunction } from '../../scripts/lib/function-code.js';
import { FirestoreWebhookStore } from '../../shared/adapters/firestore/index.js';
import { isPlatformError } from '../../shared/domain/errors.js';
import { WEBHOOK_SOURCES } from '../../shared/domain/webhook-events.js';
import { type WebhookBody, type WebhookEventType, verifyWebhookSignature } from '../../shared/domain/webhooks.js';
import { deliverWebhookEvent } from '../../shared/services/webhook-delivery.js';
import { addWebhook } from '../../shared/services/webhook-subscriptions.js';
import { mlops } from '../support/cli.js';
import { eventually, useEmulators } from '../support/environment.js';
import { ROOT } from '../support/paths.js';

const { projectId } = useEmulators();
const client = new Firestore({ projectId, ignoreUndefinedProperties: true });
const store = new FirestoreWebhookStore({ projectId, client });
const FAST = { retry: { firstBackoffMs: 20, budgetMs: 5_000 } };

/** What the receiver got: each POST with whether its signature verified against the secret of its path. */
interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: WebhookBody;
  verified: boolean;
}

/**
 * A real receiver on 127.0.0.1. Each path answers from its script (`/flaky`: 500, 500, then 200;
 * `/gone`: 410; `/down`: 503 always; anything else 200) and verifies the signature with its secret.
 */
class Receiver {
  readonly received: Received[] = [];
  readonly secrets = new Map<string, string>();
  private readonly scripts: Record<string, number[]> = { '/flaky': [500, 500], '/gone': [410, 410, 410], '/down': Array<number>(20).fill(503) };
  private server?: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      let raw = '';
      request.on('data', (chunk) => (raw += chunk));
      request.on('end', () => {
        const path = request.url ?? '/';
        const verified = verifyWebhookSignature(this.secrets.get(path) ?? '', request.headers, raw).valid;
        this.received.push({ path, headers: request.headers, body: JSON.parse(raw) as WebhookBody, verified });
        const status = verified ? (this.scripts[path]?.shift() ?? 200) : 401;
        response.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : `answer ${status}`);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  at(path: string): Received[] {
    return this.received.filter((request) => request.path === path);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server?.close(() => resolve()));
  }
}

const receiver = new Receiver();

async function subscribe(path: string, events: WebhookEventType[]) {
  const subscription = await addWebhook({ url: `${receiver.url}${path}`, events: events.join(',') }, { store });
  receiver.secrets.set(path, subscription.secret);
  return subscription;
}

const registered = (version: number) => ({
  schemaVersion: 1,
  model: 'churn',
  version,
  artifactUri: `gs://models/churn/v${version}/model.onnx`,
  sha256: 'ab'.repeat(32),
  registeredAt: new Date(Date.UTC(2026, 11, 2, 10, version)).toISOString(),
});
const eventOf = (version: number): WebhookBody => WEBHOOK_SOURCES['model-registered'].toWebhook(registered(version))!;

beforeAll(() => receiver.start());

afterAll(async () => {
  await receiver.stop();
  await client.terminate();
});

describe('delivering an event to its subscriptions', () => {
  it('retries a 500 until the 200, refuses a 410 at once, skips other events, and records each', async () => {
    const flaky = await subscribe('/flaky', ['model_version.created']);
    const gone = await subscribe('/gone', ['model_version.created', 'alias.changed']);
    await subscribe('/promotions', ['alias.changed']);
    const event = eventOf(1);

    const outcomes = await deliverWebhookEvent(event, { store, ...FAST });

    expect(receiver.at('/flaky').map((request) => request.verified)).toEqual([true, true, true]);
    expect(new Set(receiver.at('/flaky').map((request) => request.headers['x-mlops-delivery-id'])).size).toBe(1);
    expect(receiver.at('/flaky')[0]!.body).toEqual(event);
    expect(receiver.at('/gone')).toHaveLength(1);
    expect(receiver.at('/promotions')).toHaveLength(0);
    expect(outcomes.find((outcome) => outcome.webhookId === flaky.id)).toMatchObject({ status: 'delivered', statusCode: 200, attempts: 3 });
    expect(outcomes.find((outcome) => outcome.webhookId === gone.id)).toMatchObject({ status: 'failed', statusCode: 410, attempts: 1, retryable: false });
    const [history] = await store.deliveries(flaky.id);
    expect(history).toMatchObject({ eventId: event.id, event: 'model_version.created', status: 'delivered', attempts: 3, lastStatusCode: 200 });
    expect(history?.deliveredAt).not.toBeNull();
    expect((await store.deliveries(gone.id))[0]).toMatchObject({ status: 'failed', retryable: false, lastStatusCode: 410, lastError: '410 answer 410' });

    // A redelivery of the same message: neither receiver is posted to again.
    const again = await deliverWebhookEvent(eventOf(1), { store, ...FAST });
    expect(again.map((outcome) => outcome.status)).toEqual(['settled', 'settled']);
    expect(receiver.at('/flaky')).toHaveLength(3);
    expect(receiver.at('/gone')).toHaveLength(1);
  });

  it('throws a transient error naming only the receiver still failing, and a redelivery retries only it', async () => {
    await Promise.all((await store.list()).map((subscription) => store.remove(subscription.id)));
    const down = await subscribe('/down', ['model_version.created']);
    await subscribe('/fine', ['model_version.created']);
    const attempt = () =>
      deliverWebhookEvent(eventOf(2), { store, ...FAST }).then(
        () => undefined,
        (error: unknown) => error,
      );

    const first = await attempt();
    expect(isPlatformError(first, 'WEBHOOK.DELIVERY_FAILED') && !first.permanent).toBe(true);
    expect((first as Error).message).toContain(down.id);
    expect((first as Error).message).not.toContain('/fine');
    expect(await attempt()).toBeInstanceOf(Error);

    expect(receiver.at('/fine')).toHaveLength(1);
    expect(receiver.at('/down')).toHaveLength(6);
    expect((await store.deliveries(down.id))[0]).toMatchObject({ status: 'failed', retryable: true, attempts: 6, lastStatusCode: 503 });
  });

  it('sends once when two deliveries of one message race', async () => {
    await Promise.all((await store.list()).map((subscription) => store.remove(subscription.id)));
    await subscribe('/race', ['model_version.created']);
    const results = await Promise.allSettled([deliverWebhookEvent(eventOf(3), { store, ...FAST }), deliverWebhookEvent(eventOf(3), { store, ...FAST })]);
    expect(receiver.at('/race')).toHaveLength(1);
    // One that finds the other sending asks Pub/Sub to come back (by then it is settled); one that comes after finds it settled.
    for (const result of results)
      if (result.status === 'rejected') expect(isPlatformError(result.reason, 'WEBHOOK.DELIVERY_FAILED') && !result.reason.permanent).toBe(true);
    expect((await deliverWebhookEvent(eventOf(3), { store, ...FAST }))[0]?.status).toBe('settled');
  });
});

describe('the deliver-webhooks function', () => {
  let server: Server;
  let url = '';
  const push = (topic: string, data: unknown, messageId: string) =>
    fetch(`${url}/projects/${projectId}/topics/${topic}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        subscription: `projects/${projectId}/subscriptions/deliver-webhooks-${topic}-sub`,
        message: { data: Buffer.from(JSON.stringify(data)).toString('base64'), messageId, publishTime: new Date().toISOString() },
      }),
    });

  beforeAll(async () => {
    server = await loadFunction(pathToFileURL(join(ROOT, 'functions/deliver-webhooks/index.ts')).href, 'deliverWebhooks');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('turns each source topic’s message into its webhook event, and a pushed-again message is not posted twice', async () => {
    await Promise.all((await store.list()).map((subscription) => store.remove(subscription.id)));
    const everything = await subscribe('/everything', ['model_version.created', 'alias.changed', 'rollout.finished']);
    const rollout = { schemaVersion: 1, model: 'churn', rolloutId: 'r1', stepIndex: 0, changedAt: '2026-12-02T11:00:00.000Z' };
    const promoted = {
      schemaVersion: 1,
      model: 'churn',
      alias: 'production',
      version: 4,
      previousVersion: 3,
      actor: 'ana',
      promotedAt: '2026-12-02T11:01:00.000Z',
    };

    for (const [topic, data, id] of [
      ['model-registered', registered(4), 'm1'],
      ['model-registered', registered(4), 'm1'],
      ['model-promoted', promoted, 'm2'],
      ['rollout-changed', { ...rollout, state: 'running' }, 'm3'],
      ['rollout-changed', { ...rollout, state: 'promoted' }, 'm4'],
    ] as const) {
      expect((await push(topic, data, id)).status).toBe(204);
    }

    expect(receiver.at('/everything').map((request) => [request.body.event, request.verified])).toEqual([
      ['model_version.created', true],
      ['alias.changed', true],
      ['rollout.finished', true],
    ]);
    expect(receiver.at('/everything')[2]!.body.data).toEqual({ model: 'churn', rollout_id: 'r1', state: 'promoted', step_index: 0 });
    expect((await store.deliveries(everything.id)).map((delivery) => delivery.status)).toEqual(['delivered', 'delivered', 'delivered']);
  });

  it('answers 500 while a receiver fails, so Pub/Sub redelivers', async () => {
    await Promise.all((await store.list()).map((subscription) => store.remove(subscription.id)));
    await subscribe('/down', ['alias.changed']);
    const promoted = {
      schemaVersion: 1,
      model: 'churn',
      alias: 'staging',
      version: 5,
      previousVersion: null,
      actor: 'ana',
      promotedAt: '2026-12-02T11:05:00.000Z',
    };
    process.env.MLOPS_LOG_LEVEL = 'silent';
    // The function's own retry settings (3 tries, 1 s then 2 s) run here: 503 each time.
    expect((await push('model-promoted', promoted, 'm5')).status).toBe(500);
  });
});

describe('mlops webhooks', () => {
  it('adds (printing the secret once), lists, tests, shows deliveries and removes', async () => {
    await Promise.all((await store.list()).map((subscription) => store.remove(subscription.id)));
    const added = await mlops('webhooks', 'add', `${receiver.url}/cli`, '--events', 'model_version.created,alert.opened');
    expect(added.code).toBe(0);
    const id = /Added webhook (wh_[0-9a-f]+)/.exec(added.stdout)?.[1];
    const secret = /(whsec_\S+)/.exec(added.stdout)?.[1];
    expect(id && secret).toBeTruthy();
    receiver.secrets.set('/cli', secret!);

    const listed = await mlops('webhooks', 'list');
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).toContain('model_version.created,alert.opened');
    expect(listed.stdout).not.toContain(secret);
    expect((await mlops('webhooks', 'list', '--json')).stdout).not.toContain('whsec_');

    const tested = await mlops('webhooks', 'test', id!);
    expect(tested).toMatchObject({ code: 0, stdout: expect.stringContaining('Delivered a test event') });
    const [request] = receiver.at('/cli');
    expect(request).toMatchObject({ verified: true, body: { event: 'test', data: { webhook_id: id } } });

    const deliveries = await mlops('webhooks', 'deliveries', id!);
    expect(deliveries.stdout).toMatch(/test\s+evt_[0-9a-f]+\s+delivered\s+1\s+200/);

    expect(await mlops('webhooks', 'remove', id!)).toMatchObject({ code: 0, stdout: `Removed webhook ${id}.\n` });
    expect(await eventually(async () => ((await store.get(id!)) ? undefined : true))).toBe(true);
    expect(await mlops('webhooks', 'test', id!)).toMatchObject({ code: 1, stderr: expect.stringContaining('No webhook') });
  });

  it('refuses unknown events and bad URLs with the fix, and reports a failed test with exit 1', async () => {
    const unknown = await mlops('webhooks', 'add', `${receiver.url}/x`, '--events', 'model.deleted');
    expect(unknown).toMatchObject({ code: 1, stderr: expect.stringContaining('Unknown webhook events: model.deleted') });
    expect((await mlops('webhooks', 'add', 'ftp://example.com', '--events', 'alias.changed')).stderr).toContain('not an absolute http(s) URL');
    expect((await mlops('webhooks', 'add', `${receiver.url}/x`)).code).toBe(2);

    const added = await mlops('webhooks', 'add', `${receiver.url}/gone`, '--events', 'alias.changed', '--json');
    const { id, secret } = JSON.parse(added.stdout) as { id: string; secret: string };
    receiver.secrets.set('/gone', secret);
    const tested = await mlops('webhooks', 'test', id);
    expect(tested).toMatchObject({ code: 1, stderr: expect.stringContaining('failed after 1 try: 410') });
    expect((await store.deliveries(id))[0]).toMatchObject({ event: 'test', status: 'failed', lastStatusCode: 410 });
  });
});
