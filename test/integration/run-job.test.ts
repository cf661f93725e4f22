import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { type Message, PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbWarehouse } from '../../shared/adapters/duckdb/index.js';
import { FirestoreModelRegistry } from '../../shared/adapters/firestore/firestore-model-registry.js';
import { FirestoreJobRunStore } from '../../shared/adapters/firestore-jobs/index.js';
import { FirestoreOnlineFeatureStore } from '../../shared/adapters/firestore-online/index.js';
import { LocalBucketArtifactStore } from '../../shared/adapters/local-bucket/local-bucket-artifact-store.js';
import { OnnxModelRunner } from '../../shared/adapters/onnx/index.js';
import { PubSubEventBus } from '../../shared/adapters/pubsub/pubsub-event-bus.js';
import { isPlatformError } from '../../shared/domain/errors.js';
import { type JobDefinition, parseJob, readScheduledJob } from '../../shared/domain/jobs.js';
import { RetrainRequested } from '../../shared/domain/retrain.js';
import { TABLES } from '../../shared/domain/tables.js';
import { TOPICS } from '../../shared/domain/topics.js';
import { reportObjectName } from '../../shared/services/write-reports.js';
import { type RunJobDependencies, runJob } from '../../shared/services/run-job.js';
import { eventually, useEmulators } from '../support/environment.js';
import { binaryClassifierOnnx } from '../support/models.js';
import { FIXTURES } from '../support/paths.js';
import { registerModelFile } from '../support/registered-model.js';

interface Reference {
  dataset: string;
  featureNames: string[];
  rows: { entity_id: string; event_time: string; features: number[] }[];
  /** Probability of each batch prediction id (numpy, test/fixtures/run-job-reference.py). */
  probabilities: Record<string, number>;
  latest: Record<string, number[]>;
}
const reference = JSON.parse(readFileSync(join(FIXTURES, 'run-job-reference.json'), 'utf8')) as Reference;
const featuresOf = (values: number[]) => Object.fromEntries(reference.featureNames.map((name, index) => [name, values[index]]));

const { projectId } = useEmulators();
const SCHEDULED = new Date('2026-03-03T02:00:17Z');

describe('scheduled jobs run by run-job (Firestore and Pub/Sub emulators, DuckDB, ONNX)', () => {
  const client = new Firestore({ projectId });
  const registry = new FirestoreModelRegistry({ projectId, client });
  const runs = new FirestoreJobRunStore({ projectId, client });
  const onlineStore = new FirestoreOnlineFeatureStore({ projectId, client });
  const bus = new PubSubEventBus({ projectId });
  const admin = new PubSub({ projectId });
  const received: { topic: string; data: unknown }[] = [];
  const runner = new OnnxModelRunner();
  let folder: string;
  let warehouse: DuckDbWarehouse;
  let deps: RunJobDependencies;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'run-job-'));
    warehouse = new DuckDbWarehouse({ path: join(folder, 'warehouse.duckdb'), dataset: 'mlops' });
    await warehouse.ensureTables(TABLES);
    const loadedAt = new Date().toISOString();
    await warehouse.insert(
      'offline_features',
      reference.rows.map((row) => ({
        dataset_id: reference.dataset,
        entity_id: row.entity_id,
        event_time: row.event_time,
        features: featuresOf(row.features),
        loaded_at: loadedAt,
      })),
    );
    const artifacts = new LocalBucketArtifactStore({ root: join(folder, 'bucket'), bucket: 'run-job-test' });
    await registerModelFile({ registry, bucket: artifacts }, 'churn', binaryClassifierOnnx());
    await registry.promote(
      { model: 'churn', version: 1, alias: 'production', actor: 'test', reason: 'first', requestId: 'churn-first' },
      { requireStaging: false },
    );
    for (const topic of [TOPICS.monitorSchedule, TOPICS.retrainRequested]) {
      const [created] = await admin.createTopic(topic);
      const [subscription] = await created.createSubscription(`${topic}-run-job-test`);
      subscription.on('message', (message: Message) => {
        received.push({ topic, data: JSON.parse(message.data.toString('utf8')) });
        message.ack();
      });
    }
    deps = { runs, registry, warehouse, artifacts, bus, runner, cacheDir: join(folder, 'cache'), onlineStore: async () => onlineStore };
  }, 60_000);

  afterAll(async () => {
    await bus.close();
    await admin.close();
    await warehouse?.close();
    await client.terminate();
    await rm(folder, { recursive: true, force: true });
  });

  const job = (fields: Record<string, unknown>): JobDefinition => parseJob({ schedule: '0 2 * * *', ...fields });
  const batchPredictions = () =>
    warehouse.query<{ prediction_id: string; outputs: { probability: number[] | number } }>(
      "SELECT prediction_id, outputs FROM {{predictions}} WHERE source = 'batch' AND model = 'churn' ORDER BY prediction_id",
    );

  it('scores the dataset with the version production names, as numpy does, and a re-run of the job adds nothing', async () => {
    const nightly = job({ name: 'nightly-score', kind: 'batch-score', model: 'churn', dataset: reference.dataset });
    const run = await runJob(nightly, deps, { scheduledTime: SCHEDULED });
    expect(run).toMatchObject({ id: 'nightly-score@2026-03-03T02:00:00Z', status: 'succeeded', attempts: 1, kind: 'batch-score' });
    expect(run.report).toMatchObject({ model: 'churn', version: 1, alias: 'production', path: 'in-process', rowsScored: reference.rows.length });

    const rows = await batchPredictions();
    expect(rows.map((row) => row.prediction_id)).toEqual(Object.keys(reference.probabilities).sort());
    for (const row of rows) {
      const probability = Array.isArray(row.outputs.probability) ? row.outputs.probability[0] : row.outputs.probability;
      expect(probability).toBeCloseTo(reference.probabilities[row.prediction_id]!, 5);
    }

    // The same firing again (a redelivery) is the same run, left as it succeeded; a later firing scores again, and the
    // prediction ids (model, version, dataset, entity, time) make its rows the ones already written.
    expect(await runJob(nightly, deps, { scheduledTime: new Date('2026-03-03T02:00:45Z') })).toEqual(run);
    const next = await runJob(nightly, deps, { scheduledTime: new Date('2026-03-04T02:00:00Z') });
    expect(next).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(await batchPredictions()).toHaveLength(reference.rows.length);
    expect((await runs.latest(['nightly-score'])).get('nightly-score')?.id).toBe('nightly-score@2026-03-04T02:00:00Z');
  });

  it('writes the report of the window ending at the scheduled minute, and records its link', async () => {
    const run = await runJob(job({ name: 'daily-report', kind: 'report', windowHours: 24 }), deps, { scheduledTime: SCHEDULED });
    const object = reportObjectName('churn', new Date('2026-03-03T02:00:00Z'));
    const stored = await deps.artifacts.stat(object);
    expect(stored).toBeDefined();
    expect(Buffer.from(await deps.artifacts.get(object)).toString('utf8')).toMatch(
      /<h1>Model churn<\/h1><p>Window 2026-03-02T02:00:00\.000Z to 2026-03-03T02:00:00\.000Z\./,
    );
    expect(run.report).toEqual({
      windowHours: 24,
      windowEnd: '2026-03-03T02:00:00.000Z',
      reports: [{ model: 'churn', uri: stored!.uri, link: expect.stringContaining(object.split('/').map(encodeURIComponent).join('/')), changed: true }],
    });
  });

  it("materializes each entity's latest row to the online store", async () => {
    const run = await runJob(job({ name: 'refresh-online', kind: 'materialize', dataset: reference.dataset }), deps, { scheduledTime: SCHEDULED });
    const entities = Object.keys(reference.latest);
    expect(run.report).toEqual({ dataset: reference.dataset, entities: entities.length, written: entities.length });
    const online = await onlineStore.read(reference.dataset, entities);
    expect(Object.fromEntries(online)).toEqual(Object.fromEntries(entities.map((entity) => [entity, featuresOf(reference.latest[entity]!)])));
  });

  it('publishes a drift run and a retrain request of the production version whose query the warehouse runs', async () => {
    await runJob(job({ name: 'hourly-drift', kind: 'drift', model: 'churn', windowHours: 6 }), deps, { scheduledTime: SCHEDULED });
    const retrain = await runJob(job({ name: 'weekly-retrain', kind: 'retrain', model: 'churn', windowHours: 48 }), deps, { scheduledTime: SCHEDULED });
    const drift = await eventually(async () => received.find((message) => message.topic === TOPICS.monitorSchedule), { what: 'the drift run' });
    expect(drift.data).toEqual({ schemaVersion: 1, trigger: 'schedule', requestId: 'hourly-drift@2026-03-03T02:00:00Z', model: 'churn', windowHours: 6 });
    const message = await eventually(async () => received.find((entry) => entry.topic === TOPICS.retrainRequested), { what: 'the retrain request' });
    const request = RetrainRequested.parse(message.data);
    expect(request).toMatchObject({
      requestId: 'weekly-retrain_2026-03-03T02_00_00Z',
      model: 'churn',
      version: 1,
      reason: 'schedule',
      window: { start: '2026-03-01T02:00:00.000Z', end: '2026-03-03T02:00:00.000Z' },
    });
    expect(retrain.report).toMatchObject({ requestId: request.requestId, version: 1 });
    // The window holds the batch predictions scored above (request_time is when they were scored, now): none in March 2026.
    expect(await warehouse.query(request.data.windowQuery)).toEqual([]);
  });

  it('records a failed run with its error and runs it again on redelivery; a bad definition is refused, naming the fault', async () => {
    const missing = job({ name: 'score-unknown', kind: 'batch-score', model: 'nobody', dataset: reference.dataset });
    const failure = await runJob(missing, deps, { scheduledTime: SCHEDULED }).catch((error: unknown) => error);
    expect(isPlatformError(failure, 'REGISTRY.MODEL_NOT_FOUND')).toBe(true);
    expect(await runs.get('score-unknown@2026-03-03T02:00:00Z')).toMatchObject({ status: 'failed', attempts: 1, error: expect.stringContaining('nobody') });
    await expect(runJob(missing, deps, { scheduledTime: SCHEDULED })).rejects.toThrow(/nobody/);
    expect(await runs.get('score-unknown@2026-03-03T02:00:00Z')).toMatchObject({ status: 'failed', attempts: 2 });

    const bad = { job: { name: 'Nightly', schedule: '0 25 * * *', kind: 'batch-score', model: 'churn' } };
    let refusal: unknown;
    try {
      readScheduledJob(bad);
    } catch (error) {
      refusal = error;
    }
    expect(isPlatformError(refusal, 'JOB.INVALID')).toBe(true);
    expect((refusal as Error).message).toMatch(/name: a job name/);
    expect((refusal as Error).message).toMatch(/schedule: Cron hour field "25" is out of range 0-23/);
    expect((refusal as Error).message).toMatch(/dataset: a batch-score job needs "dataset"/);
  });

  it('refuses, as retryable, a firing another worker is running, until its lease has passed', async () => {
    const definition = job({ name: 'held', kind: 'drift' });
    const now = new Date();
    const claim = await runs.claim({ id: 'held@2026-03-03T02:00:00Z', definition, scheduledTime: SCHEDULED.toISOString() }, now, 60_000);
    expect(claim.state).toBe('claimed');
    const busy = await runJob(definition, { ...deps, leaseMs: 60_000 }, { scheduledTime: SCHEDULED }).catch((error: unknown) => error);
    expect(isPlatformError(busy, 'JOB.RUNNING') && !busy.permanent).toBe(true);
    const taken = await runJob(definition, { ...deps, leaseMs: 0 }, { scheduledTime: SCHEDULED });
    expect(taken).toMatchObject({ status: 'succeeded', attempts: 2 });
  });
});
