import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { type Message, PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudRunJobTarget } from '../../shared/adapters/cloud-run/index.js';
import { DuckDbWarehouse } from '../../shared/adapters/duckdb/duckdb-warehouse.js';
import { FirestoreModelRegistry } from '../../shared/adapters/firestore/firestore-model-registry.js';
import { FirestoreRetrainStore } from '../../shared/adapters/firestore/firestore-retrain-store.js';
import { LocalBucketArtifactStore } from '../../shared/adapters/local-bucket/local-bucket-artifact-store.js';
import { PubSubEventBus } from '../../shared/adapters/pubsub/pubsub-event-bus.js';
import { freePort } from '../../shared/processes/processes.js';
import type { DriftComputed, VersionMonitoring } from '../../shared/domain/monitoring-events.js';
import type { RetrainRequested } from '../../shared/domain/retrain.js';
import { TABLES } from '../../shared/domain/tables.js';
import { TOPICS } from '../../shared/domain/topics.js';
import { verifyWebhookSignature } from '../../shared/domain/webhooks.js';
import { deliverRetrain } from '../../shared/services/retrain-delivery.js';
import { commandTarget, webhookTarget } from '../../shared/services/retrain-targets.js';
import { triggerRetrain } from '../../shared/services/retrain-triggers.js';
import { eventually, useEmulators } from '../support/environment.js';
import { registrationRequest } from '../support/registered-model.js';

const { projectId } = useEmulators();
const SIGNATURE = {
  inputs: [{ name: 'features', type: 'float32' as const, shape: [null, 2] }],
  outputs: [{ name: 'label', type: 'int64' as const, shape: [null] }],
};
const HOUR = 3_600_000;
const T0 = Date.parse('2026-03-01T00:00:00Z');
const hour = (n: number) => new Date(T0 + n * HOUR).toISOString();

/** One version's outcome in a run: quiet unless told it drifted or how it performed. */
function monitoring(
  model: string,
  { drifted = false, performance = { accuracy: 0.9 } }: { drifted?: boolean; performance?: Record<string, number> } = {},
): VersionMonitoring {
  return {
    model,
    version: 1,
    aliases: ['production'],
    reference: 'dataset:train-2026-02',
    features: [
      {
        feature: 'tenure',
        kind: 'numeric',
        method: 'psi',
        value: drifted ? 0.42 : 0.02,
        threshold: 0.2,
        drifted,
        statistic: 0,
        tolerance: 0,
        referenceSize: 500,
        currentSize: 500,
      },
    ],
    skipped: [],
    datasetDrift: { share: drifted ? 1 : 0, threshold: 0.5, drifted },
    performance,
    health: {},
    alertsOpened: drifted ? ['tenure'] : [],
    alertsResolved: [],
    problems: [],
  };
}

/** The drift-computed event of a run over the day ending at `end` hours after T0. */
function run(end: number, versions: VersionMonitoring[]): DriftComputed {
  return { schemaVersion: 1, requestId: randomUUID(), status: 'succeeded', windowStart: hour(end - 24), windowEnd: hour(end), versions, seconds: 1 };
}

describe('retrain triggers and delivery (Firestore and Pub/Sub emulators, DuckDB, local bucket)', () => {
  const clients: Firestore[] = [];
  const client = () => {
    const made = new Firestore({ projectId, ignoreUndefinedProperties: true });
    clients.push(made);
    return made;
  };
  const registry = new FirestoreModelRegistry({ projectId, client: client() });
  const store = new FirestoreRetrainStore({ projectId, client: client() });
  const bus = new PubSubEventBus({ projectId });
  const admin = new PubSub({ projectId });
  const requested: RetrainRequested[] = [];
  let folder: string;
  let warehouse: DuckDbWarehouse;
  let artifacts: LocalBucketArtifactStore;
  const triggers = () => ({ bus, registry, store });

  const newModel = async (tags: Record<string, string> = {}) => {
    const model = `m-${randomUUID().slice(0, 8)}`;
    await registry.registerVersion({ ...registrationRequest(model, SIGNATURE), tags });
    return model;
  };

  beforeAll(async () => {
    const [topic] = await admin.createTopic(TOPICS.retrainRequested);
    const [subscription] = await topic.createSubscription(`${TOPICS.retrainRequested}-test`);
    subscription.on('message', (message: Message) => {
      requested.push(JSON.parse(message.data.toString()) as RetrainRequested);
      message.ack();
    });
    folder = await mkdtemp(join(tmpdir(), 'retrain-'));
    warehouse = new DuckDbWarehouse({ path: join(folder, 'warehouse.duckdb'), dataset: 'mlops' });
    await warehouse.ensureTables(TABLES);
    artifacts = new LocalBucketArtifactStore({ root: join(folder, 'bucket'), bucket: 'retrain-test' });
  });

  afterAll(async () => {
    await bus.close();
    await admin.close();
    await warehouse?.close();
    await Promise.all(clients.map((made) => made.terminate()));
    await rm(folder, { recursive: true, force: true });
  });

  const publishedFor = (model: string) => requested.filter((request) => request.model === model);

  it('opens one episode and publishes one request when a drifted run arrives twice and a copy races it', async () => {
    const model = await newModel();
    const drifted = run(24, [monitoring(model, { drifted: true })]);
    const copy = { ...drifted, requestId: randomUUID() };
    const settled = await Promise.allSettled([triggerRetrain(drifted, triggers()), triggerRetrain(drifted, triggers()), triggerRetrain(copy, triggers())]);
    // A run that finds another's claim unconfirmed is retried by Pub/Sub: transient, never a second publish.
    for (const result of settled.filter((found) => found.status === 'rejected')) {
      expect(result.reason).toMatchObject({ code: 'RETRAIN.PUBLISH_PENDING', permanent: false });
    }
    const outcomes = settled.flatMap((result) => (result.status === 'fulfilled' ? result.value : []));
    const redelivered = await triggerRetrain(drifted, triggers());
    expect(redelivered).toEqual([{ model, holds: true, episode: 'open' }]);
    const published = outcomes.filter((outcome) => outcome.request !== undefined);
    expect(published).toHaveLength(1);
    const request = published[0]!.request!;
    expect(request).toMatchObject({
      model,
      version: 1,
      reason: 'drift',
      window: { start: hour(0), end: hour(24) },
      data: { referenceDatasetId: 'train-2026-02' },
    });
    expect(request.detail).toContain('feature tenure drifted (psi 0.42)');
    expect(request.data.windowQuery).toContain(`p.model = '${model}' AND p.version = 1`);
    const received = await eventually(async () => (publishedFor(model).length > 0 ? publishedFor(model) : undefined), {
      what: 'the retrain request on Pub/Sub',
    });
    expect(received.map((found) => found.requestId)).toEqual([request.requestId]);
    expect(await store.getEpisode(model)).toMatchObject({ state: 'open', published: true, requestId: request.requestId });
  });

  it('publishes nothing more while drift persists, closes the episode on recovery, and opens a new one after', async () => {
    const model = await newModel();
    const [first] = await triggerRetrain(run(24, [monitoring(model, { drifted: true })]), triggers());
    const [persists] = await triggerRetrain(run(25, [monitoring(model, { drifted: true })]), triggers());
    expect(persists).toEqual({ model, holds: true, episode: 'open' });
    const [recovered] = await triggerRetrain(run(26, [monitoring(model)]), triggers());
    expect(recovered).toEqual({ model, holds: false, episode: 'closed' });
    // A late redelivery of the drifted run of hour 25 changes nothing.
    expect((await triggerRetrain(run(25, [monitoring(model, { drifted: true })]), triggers()))[0]).toMatchObject({ episode: 'stale' });
    const [again] = await triggerRetrain(run(30, [monitoring(model, { drifted: true })]), triggers());
    expect(again!.request!.requestId).not.toBe(first!.request!.requestId);
    expect(await store.getEpisode(model)).toMatchObject({ state: 'open', openedAt: hour(30) });
  });

  it('requests a retrain when a retrain.when clause holds on performance, with no drift', async () => {
    const model = await newModel({ 'retrain.when': 'accuracy<0.85,rmse>2.5' });
    expect(await triggerRetrain(run(24, [monitoring(model, { performance: { accuracy: 0.91 } })]), triggers())).toEqual([
      { model, holds: false, episode: 'none' },
    ]);
    const [outcome] = await triggerRetrain(run(25, [monitoring(model, { performance: { accuracy: 0.7 } })]), triggers());
    expect(outcome!.request).toMatchObject({ reason: 'performance', detail: 'accuracy 0.7 < 0.85' });
  });

  it('skips a retrain.when tag that does not parse, saying why, and still triggers on drift', async () => {
    const model = await newModel({ 'retrain.when': 'accuracy is low' });
    const told: string[] = [];
    const [outcome] = await triggerRetrain(run(24, [monitoring(model, { drifted: true, performance: { accuracy: 0.1 } })]), {
      ...triggers(),
      onInvalidTag: (_model, message) => told.push(message),
    });
    expect(outcome!.request).toMatchObject({ reason: 'drift' });
    expect(told[0]).toMatch(/retrain\.when="accuracy is low" is invalid/);
  });

  /** A request as trigger-retrain publishes it for a fresh model, with a window of predictions in DuckDB. */
  async function requestWithWindow(): Promise<RetrainRequested> {
    const model = await newModel();
    const rows = [0, 1, 2].map((index) => ({
      prediction_id: `${model}-${index}`,
      model,
      version: 1,
      request_time: hour(20 + index),
      features: { tenure: index },
      outputs: { label: index % 2 },
      latency_ms: 1,
      source: index === 2 ? 'shadow' : 'online',
    }));
    await warehouse.insert('predictions', rows);
    await warehouse.insert('ground_truth', [{ prediction_id: `${model}-0`, label: '1', observed_time: hour(23) }]);
    const [outcome] = await triggerRetrain(run(24, [monitoring(model, { drifted: true })]), triggers());
    return outcome!.request!;
  }

  it('delivers to a signed webhook that fails twice before it takes the request, exporting the window once, with every attempt in the history', async () => {
    const request = await requestWithWindow();
    const receiver = await recordingServer((count) => (count <= 2 ? 500 : 200));
    const target = webhookTarget({ url: `${receiver.url}/retrain?token=abc`, secret: 'shh' });
    const deliver = () => deliverRetrain(request, { targets: [target], store, registry, warehouse, artifacts });
    await expect(deliver()).rejects.toMatchObject({ code: 'RETRAIN.DELIVERY_FAILED', permanent: false });
    await expect(deliver()).rejects.toThrow(/answered 500/);
    const delivered = await deliver();
    expect(delivered.delivered.map((found) => found.target)).toEqual([`webhook:${receiver.url}/retrain`]);
    expect(await deliver()).toMatchObject({ delivered: [], skipped: [`webhook:${receiver.url}/retrain`] });
    await receiver.close();

    expect(receiver.received).toHaveLength(3);
    for (const { headers, body } of receiver.received) {
      expect(verifyWebhookSignature('shh', headers, body)).toMatchObject({ valid: true, deliveryId: request.requestId });
      expect(verifyWebhookSignature('not the secret', headers, body)).toMatchObject({ valid: false });
    }
    const sent = JSON.parse(receiver.received[2]!.body) as RetrainRequested;
    expect(sent.data.windowExport).toBe(`gs://retrain-test/retrain/${request.model}/${request.requestId}/window.jsonl`);
    const exported = Buffer.from(await artifacts.get(`retrain/${request.model}/${request.requestId}/window.jsonl`)).toString('utf8');
    const lines = exported
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { prediction_id: string; label: string | null });
    expect(lines.map((line) => [line.prediction_id, line.label])).toEqual([
      [`${request.model}-0`, '1'],
      [`${request.model}-1`, null],
    ]);
    expect((await artifacts.list(`retrain/${request.model}/`)).map((object) => object.generation)).toHaveLength(1);

    const history = (await registry.history(request.model)).filter((entry) => entry.action.startsWith('retrain_'));
    expect(history.map((entry) => entry.action)).toEqual(['retrain_requested', 'retrain_failed', 'retrain_failed', 'retrain_delivered']);
    expect(history[1]!.reason).toMatch(/attempt 1\): the webhook answered 500/);
    expect(history[2]!.reason).toMatch(/attempt 2\)/);
    expect(history.map((entry) => entry.reason).join(' ')).not.toContain('token=abc');
  });

  it('runs a command with the request on stdin and in MLOPS_RETRAIN_REQUEST, failing on a non-zero exit and on a timeout', async () => {
    const request = await requestWithWindow();
    const stdinFile = join(folder, `${request.requestId}-stdin.json`);
    const envFile = join(folder, `${request.requestId}-env.json`);
    const writes = commandTarget({ command: `cat > '${stdinFile}' && printf '%s' "$MLOPS_RETRAIN_REQUEST" > '${envFile}'`, timeoutMs: 10_000 });
    const outcome = await deliverRetrain(request, { targets: [writes], store, registry, warehouse, artifacts });
    const [fromStdin, fromEnv] = await Promise.all([readFile(stdinFile, 'utf8'), readFile(envFile, 'utf8')]);
    expect(JSON.parse(fromStdin)).toEqual(outcome.request);
    expect(fromEnv).toBe(fromStdin);
    expect(outcome.request.data.windowExport).toMatch(/^gs:\/\/retrain-test\/retrain\//);

    const other = await requestWithWindow();
    const failing = commandTarget({ command: 'echo "no GPU today" >&2; exit 3', timeoutMs: 10_000 });
    await expect(deliverRetrain(other, { targets: [failing], store, registry })).rejects.toThrow(/exited with 3: no GPU today/);
    const hangs = commandTarget({ command: 'sleep 30', timeoutMs: 300 });
    await expect(deliverRetrain({ ...other, requestId: `${other.requestId}-2` }, { targets: [hangs], store, registry })).rejects.toThrow(
      /did not finish within 300 ms/,
    );
    const failures = (await registry.history(other.model)).filter((entry) => entry.action === 'retrain_failed');
    expect(failures.map((entry) => entry.reason)).toEqual([expect.stringContaining('exited with 3'), expect.stringContaining('did not finish')]);
  });

  it('starts a Cloud Run job with the request in a container override, as the Admin API v2 takes it', async () => {
    const request = await requestWithWindow();
    const api = await recordingServer((count) => (count === 1 ? 200 : 403), { name: 'projects/p/locations/europe-west1/operations/op-1' });
    const job = 'projects/acme-ml/locations/europe-west1/jobs/retrain-churn';
    const auth = { getClient: async () => ({ getRequestHeaders: async () => ({ authorization: 'Bearer test-token' }) }) };
    const target = new CloudRunJobTarget({ job, auth, endpoint: api.url });
    const outcome = await deliverRetrain(request, { targets: [target], store, registry });
    expect(outcome.delivered).toEqual([{ target: `cloud-run-job:${job}`, detail: 'delivered' }]);
    const [call] = api.received;
    expect(call).toMatchObject({ method: 'POST', url: `/v2/${job}:run` });
    expect(call!.headers.authorization).toBe('Bearer test-token');
    const body = JSON.parse(call!.body) as { overrides: { containerOverrides: { env: { name: string; value: string }[] }[] } };
    const [variable] = body.overrides.containerOverrides[0]!.env;
    expect(variable!.name).toBe('MLOPS_RETRAIN_REQUEST');
    expect(JSON.parse(variable!.value)).toEqual(request);

    const refused = await requestWithWindow();
    await expect(deliverRetrain(refused, { targets: [target], store, registry })).rejects.toThrow(/failed \(403\)/);
    await api.close();
  });
});

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** An HTTP server on a free loopback port that records each request and answers the status `statusOf` gives the nth. */
async function recordingServer(
  statusOf: (count: number) => number,
  answer: unknown = { ok: true },
): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      received.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      const status = statusOf(received.length);
      response
        .writeHead(status, { 'content-type': 'application/json' })
        .end(JSON.stringify(status < 300 ? answer : { error: { message: `status ${status}` } }));
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${port}`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
