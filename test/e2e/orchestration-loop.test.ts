import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftComputed } from '../../shared/domain/monitoring-events.js';
import type { AuditEntry, Model, ModelVersion } from '../../shared/domain/registry.js';
import type { Rollout } from '../../shared/domain/rollout.js';
import { freePort } from '../../shared/processes/processes.js';
import { mlops } from '../support/cli.js';
import { seeded } from '../support/drift-scenario.js';
import { eventually } from '../support/environment.js';
import { type StartedPlatform, startPlatformProcess } from '../support/local-process.js';
import { BINARY_CLASSIFIER, binaryClassifierOnnx } from '../support/models.js';

const RETRAIN_SECRET = 'retrain-secret-for-the-loop';
const FEATURES = BINARY_CLASSIFIER.featureNames;
const TRAFFIC_ROWS = 400;
const NIGHTLY_ROWS = 300;

/** One POST the receiver got, with whether its signature held for the secret of its path. */
interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  verified: boolean;
  reason?: string;
}

/**
 * Checks a delivery as the README tells a receiver to, written here from the contract rather than taken from
 * shared/domain/webhooks.ts, so a signing bug there fails this test: HMAC-SHA256 keyed by the secret over
 * "<delivery id>.<timestamp>.<body>", base64, sent as "v1,<signature>" (several may be space-separated).
 */
function verify(secret: string, headers: IncomingHttpHeaders, body: string): { verified: boolean; reason?: string } {
  const [id, timestamp, signatures] = ['x-mlops-delivery-id', 'x-mlops-timestamp', 'x-mlops-signature'].map((name) => headers[name] as string | undefined);
  if (!id || !timestamp || !signatures) return { verified: false, reason: 'a signing header is missing' };
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return { verified: false, reason: `timestamp ${timestamp} is not within 5 minutes of now` };
  const expected = Buffer.from(`v1,${createHmac('sha256', secret).update(`${id}.${timestamp}.${body}`).digest('base64')}`);
  const matches = signatures.split(' ').some((given) => given.length === expected.length && timingSafeEqual(Buffer.from(given), expected));
  return matches ? { verified: true } : { verified: false, reason: 'no signature matches' };
}

/** A receiver on a free loopback port: /retrain checks the retrain secret, /registry the subscription's (known once added); a bad signature is a 401. */
async function receiver(secrets: Record<string, string | undefined>): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const path = new URL(request.url ?? '/', 'http://receiver').pathname;
      const secret = secrets[path];
      const check = secret === undefined ? { verified: false, reason: `no secret for ${path}` } : verify(secret, request.headers, body);
      received.push({ path, headers: request.headers, body, ...check });
      response.writeHead(check.verified ? 200 : 401, { 'content-type': 'text/plain' }).end(check.verified ? 'ok' : check.reason);
    });
  });
  const port = await freePort();
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
  return { server, url: `http://127.0.0.1:${port}`, received };
}

/** A standard normal draw from a seeded uniform source (Box-Muller). */
const normal = (random: () => number) => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

/** `count` feature rows with f0 ~ N(shift, 1) and the other features N(0, 1), rounded to 4 places. */
function featureRows(random: () => number, count: number, shift = 0): number[][] {
  return Array.from({ length: count }, () => FEATURES.map((_, index) => Math.round(((index === 0 ? shift : 0) + normal(random)) * 1e4) / 1e4));
}

/** A JSON Lines features file for `mlops features load`: entity_id, event_time and one column per feature. */
function featuresFile(path: string, rows: number[][], prefix: string): string {
  const lines = rows.map((row, index) =>
    JSON.stringify({ entity_id: `${prefix}-${index}`, event_time: '2026-01-01T00:00:00Z', ...Object.fromEntries(FEATURES.map((name, at) => [name, row[at]])) }),
  );
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

// The loop of issue 20 as a user runs it: `npm start` with the retrain targets configured (a signed webhook and a
// training command), a served model, drifted traffic, `mlops drift run`, and the command's upload rolling out.
describe('the orchestration loop on the local platform: drift → retrain request → new version → canary', () => {
  const files = mkdtempSync(join(tmpdir(), 'orchestration-loop-'));
  const secrets: Record<string, string | undefined> = { '/retrain': RETRAIN_SECRET };
  let hooks: Awaited<ReturnType<typeof receiver>>;
  let platform: StartedPlatform;
  let firestore: Firestore;
  let retrainRequestId: string;
  let webhookId: string;
  const retrainPosts = () => hooks.received.filter((post) => post.path === '/retrain');
  const registryEvents = () =>
    hooks.received
      .filter((post) => post.path === '/registry')
      .map((post) => ({ ...post, json: JSON.parse(post.body) as { id: string; event: string; data: Record<string, unknown> } }));
  const cli = async (...args: string[]) => {
    const result = await mlops(...args);
    expect(result.code, `mlops ${args.join(' ')}: ${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const driftRun = async () => {
    const computed = JSON.parse(await cli('drift', 'run', '--model', 'churn', '--window-hours', '1', '--json')) as DriftComputed;
    expect(computed.status, computed.error).toBe('succeeded');
    return computed;
  };
  const showChurn = async () => JSON.parse(await cli('models', 'show', 'churn', '--json')) as { model: Model; versions: ModelVersion[] };

  beforeAll(async () => {
    hooks = await receiver(secrets);
    const jobs = join(files, 'jobs.json');
    // A schedule that does not fire while the test runs: the test runs the job with `mlops jobs run`.
    const nightly = { name: 'nightly-score', schedule: '0 3 1 1 *', kind: 'batch-score', model: 'churn', dataset: 'churn-nightly' };
    writeFileSync(jobs, JSON.stringify({ jobs: [nightly] }, null, 2));
    Object.assign(process.env, {
      MLOPS_RETRAIN_WEBHOOK_URL: `${hooks.url}/retrain`,
      MLOPS_RETRAIN_WEBHOOK_SECRET: RETRAIN_SECRET,
      MLOPS_RETRAIN_COMMAND: `"${process.execPath}" --import tsx "${resolve('test/support/retrain-command.ts')}"`,
    });
    platform = await startPlatformProcess({ fresh: true, args: ['--jobs', jobs] });
    Object.assign(process.env, platform.env, { MLOPS_DATA_DIR: platform.dataDir, METADATA_SERVER_DETECTION: 'none', MLOPS_ACTOR: 'test' });
    firestore = new Firestore({
      projectId: 'mlops-local',
      host: platform.env.FIRESTORE_EMULATOR_HOST,
      ssl: false,
      customHeaders: { Authorization: 'Bearer owner' },
    });
    const random = seeded(20);
    await cli('features', 'load', featuresFile(join(files, 'train.jsonl'), featureRows(random, 2000), 'train'), '--dataset', 'churn-train');
    await cli('features', 'load', featuresFile(join(files, 'nightly.jsonl'), featureRows(random, NIGHTLY_ROWS), 'c'), '--dataset', 'churn-nightly');
    const model = join(files, 'v1.onnx');
    writeFileSync(model, binaryClassifierOnnx());
    await cli('upload', model, '--name', 'churn', '--dataset', 'churn-train');
    await cli('promote', 'churn', '1', '--to', 'production');
    await eventually(async () => ((await showChurn()).model.serving?.version === 1 ? true : undefined), { timeoutMs: 60_000, what: 'churn v1 serving' });
  }, 180_000);

  afterAll(async () => {
    // DEBUG_LOOP=<file> keeps what the platform printed (the functions' logs, the training command's output).
    if (process.env.DEBUG_LOOP && platform) writeFileSync(process.env.DEBUG_LOOP, platform.output());
    await firestore?.terminate();
    if (platform?.child.exitCode === null) await platform.stop('SIGTERM');
    await new Promise((done) => hooks?.server.close(done));
    for (const name of ['MLOPS_RETRAIN_WEBHOOK_URL', 'MLOPS_RETRAIN_WEBHOOK_SECRET', 'MLOPS_RETRAIN_COMMAND']) delete process.env[name];
  });

  it('subscribes the receiver to registry events and shows the secret once', async () => {
    const events = 'model_version.created,alias.changed,rollout.finished,alert.opened';
    const added = JSON.parse(await cli('webhooks', 'add', `${hooks.url}/registry`, '--events', events, '--json')) as { id: string; secret: string };
    expect(added.secret).toMatch(/\S{16,}/);
    secrets['/registry'] = added.secret;
    const listed = await cli('webhooks', 'list');
    expect(listed).toContain(`${hooks.url}/registry`);
    expect(listed).toContain(added.id);
    expect(listed).not.toContain(added.secret);
    webhookId = added.id;
    expect(await cli('webhooks', 'test', webhookId)).toMatch(/^Delivered a test event to .*: 200 after 1 try\./);
    const [test] = registryEvents().filter((post) => post.json.event === 'test');
    expect(test?.verified, test?.reason).toBe(true);
  });

  it('sends one signed retrain request to the webhook when served traffic drifts', async () => {
    const { model } = await showChurn();
    const random = seeded(21);
    const ids: string[] = [];
    for (let batch = 0; batch < TRAFFIC_ROWS / 50; batch++) {
      const response = await fetch(`${model.serving!.url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: featureRows(random, 50, 2) }),
      });
      expect(response.status).toBe(200);
      ids.push(...((await response.json()) as { ids: string[] }).ids);
    }
    // Ground truth for every prediction: the window the training job reads joins the two.
    const truth = join(files, 'truth.jsonl');
    writeFileSync(truth, `${ids.map((id) => JSON.stringify({ id, label: random() < 0.5 ? 1 : 0 })).join('\n')}\n`);
    await cli('ground-truth', truth);
    const dataApi = (JSON.parse(readFileSync(join(platform.dataDir, 'endpoints.json'), 'utf8')) as { functions: Record<string, string> }).functions['data-api'];
    await eventually(
      async () => {
        const stats = (await (await fetch(`${dataApi}/ground-truth/stats`)).json()) as { matched: number };
        return stats.matched === TRAFFIC_ROWS ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: `${TRAFFIC_ROWS} predictions logged and joined to their ground truth` },
    );

    const computed = await driftRun();
    const [version] = computed.versions;
    expect(version!.features.find((feature) => feature.feature === 'f0')?.drifted).toBe(true);
    expect(version!.alertsOpened).toContain('f0');

    const [post] = await eventually(async () => (retrainPosts().length > 0 ? retrainPosts() : undefined), {
      timeoutMs: 60_000,
      what: 'the retrain request at the webhook',
    });
    expect(post!.verified, post!.reason).toBe(true);
    const request = JSON.parse(post!.body);
    expect(request).toMatchObject({
      schemaVersion: 1,
      model: 'churn',
      version: 1,
      reason: 'drift',
      window: { end: computed.windowEnd },
      data: { referenceDatasetId: 'churn-train', windowQuery: expect.stringMatching(/ground_truth/) },
    });
    expect(request.data.windowExport).toBe(`gs://mlops-artifacts/retrain/churn/${request.requestId}/window.jsonl`);
    expect(request.detail).toMatch(/f0/);
    retrainRequestId = request.requestId;
  }, 120_000);

  it('sends no second request while the drift persists', async () => {
    const again = await driftRun();
    expect(again.versions[0]!.features.find((feature) => feature.feature === 'f0')?.drifted).toBe(true);
    // trigger-retrain has seen the second run once the episode holds its window end.
    await eventually(
      async () => {
        const episode = (await firestore.doc('retrain_episodes/churn').get()).data();
        return episode && Date.parse(episode.lastWindowEnd) === Date.parse(again.windowEnd) ? episode : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'the episode to record the second run' },
    );
    expect(retrainPosts()).toHaveLength(1);
  }, 60_000);

  it('runs the training command, whose upload records its lineage and starts a canary of version 2', async () => {
    const v2 = await eventually(async () => (await showChurn()).versions.find((version) => version.version === 2 && version.status === 'ready'), {
      timeoutMs: 90_000,
      intervalMs: 500,
      what: 'version 2 uploaded by the training command',
    });
    const runs = JSON.parse(await cli('runs', 'list', '--experiment', 'churn-retrain', '--json')) as { id: string; params: Record<string, string> }[];
    expect(runs).toHaveLength(1);
    expect(runs[0]!.params).toMatchObject({ request_id: retrainRequestId, parent: 'churn@1', window_rows: String(TRAFFIC_ROWS) });
    expect(v2.lineage).toMatchObject({ runId: runs[0]!.id, datasetId: 'churn-train', parent: { model: 'churn', version: 1 } });

    const rollout = await eventually(
      async () => (JSON.parse(await cli('rollout', 'status', 'churn', '--json')) as { rollouts: Rollout[] }).rollouts.find((entry) => entry.candidate === 2),
      { timeoutMs: 30_000, intervalMs: 500, what: 'a rollout of version 2' },
    );
    expect(rollout).toMatchObject({ mode: 'canary', baseline: 1, candidate: 2 });

    const history = await eventually(
      async () => {
        const entries = JSON.parse(await cli('models', 'history', 'churn', '--json')) as AuditEntry[];
        return entries.filter((entry) => entry.action === 'retrain_delivered').length === 2 ? entries : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: 'retrain_delivered for the webhook and the command' },
    );
    expect(history.filter((entry) => entry.action === 'retrain_requested')).toHaveLength(1);
    expect(history.filter((entry) => entry.action === 'retrain_failed')).toEqual([]);
    const readable = await cli('models', 'history', 'churn');
    expect(readable).toMatch(/retrain_requested|retrain requested/);
    expect(readable).toMatch(/retrain_delivered|retrain delivered/);
    expect(retrainPosts()).toHaveLength(1);
  }, 150_000);

  it('posts model_version.created for version 2 and alert.opened to the registry webhook, each signed', async () => {
    const events = await eventually(
      async () => {
        const received = registryEvents();
        const created = received.find((post) => post.json.event === 'model_version.created' && post.json.data.version === 2);
        const alert = received.find((post) => post.json.event === 'alert.opened' && post.json.data.feature === 'f0');
        return created && alert ? { created, alert } : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'model_version.created for v2 and alert.opened' },
    );
    expect(events.created.verified, events.created.reason).toBe(true);
    expect(events.created.json.data).toMatchObject({ model: 'churn', version: 2 });
    expect(events.alert.verified, events.alert.reason).toBe(true);
    expect(events.alert.json.data).toMatchObject({
      model: 'churn',
      version: 1,
      method: 'wasserstein',
      text: expect.stringMatching(/Drift in churn v1: feature "f0"/),
    });
    expect(registryEvents().every((post) => post.verified)).toBe(true);
    const deliveries = JSON.parse(await cli('webhooks', 'deliveries', webhookId, '--json')) as { event: string; status: string }[];
    for (const event of ['test', 'model_version.created', 'alert.opened'])
      expect(deliveries.filter((delivery) => delivery.event === event).map((delivery) => delivery.status)).toContain('delivered');
    expect(deliveries.filter((delivery) => delivery.status !== 'delivered')).toEqual([]);
  }, 60_000);

  it('runs the declared batch-score job now, and it scores the dataset with production', async () => {
    const jobs = join(files, 'jobs.json');
    const run = await cli('jobs', 'run', 'nightly-score', '--jobs', jobs);
    expect(run).toMatch(/^Job nightly-score \(batch-score\) succeeded: run nightly-score@/);
    const report = JSON.parse(run.slice(run.indexOf('{')));
    expect(report).toMatchObject({ model: 'churn', version: 1, alias: 'production', dataset: 'churn-nightly', rowsScored: NIGHTLY_ROWS });
    expect(await cli('jobs', 'list', '--jobs', jobs)).toMatch(/\nnightly-score\s+batch-score\s+0 3 1 1 \*\s+\S+\s+\S+\s+succeeded/);
  }, 120_000);

  it('leaves the batch predictions of v1 and the served ones in the warehouse', async () => {
    expect(await platform.stop('SIGTERM')).toBe(0);
    const instance = await DuckDBInstance.create(join(platform.dataDir, 'warehouse.duckdb'), { access_mode: 'READ_ONLY' });
    try {
      const connection = await instance.connect();
      const reader = await connection.runAndReadAll(
        "SELECT source, version, COUNT(*) AS n FROM mlops.predictions WHERE model = 'churn' GROUP BY source, version ORDER BY source, version",
      );
      const counts = reader.getRowObjects().map((row) => ({ source: String(row.source), version: Number(row.version), n: Number(row.n) }));
      expect(counts).toEqual(expect.arrayContaining([{ source: 'batch', version: 1, n: NIGHTLY_ROWS }]));
      expect(counts.filter((row) => row.source === 'online').reduce((sum, row) => sum + row.n, 0)).toBeGreaterThanOrEqual(TRAFFIC_ROWS);
    } finally {
      instance.closeSync();
    }
  }, 60_000);
});
