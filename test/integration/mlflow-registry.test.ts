import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { type Message, PubSub, type Subscription } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelVersionJson, RegisteredModelJson } from '../../functions/tracking/mlflow/model-version-json.js';
import type { MlflowDeps } from '../../functions/tracking/mlflow/protocol.js';
import { FirestoreLoggedModelStore, FirestoreModelRegistry, FirestoreTrackingStore } from '../../shared/adapters/firestore/index.js';
import { bucketNotificationFor } from '../../shared/adapters/gcs-notification/index.js';
import { LocalBucketArtifactStore } from '../../shared/adapters/local-bucket/index.js';
import { OnnxModelRunner } from '../../shared/adapters/onnx/index.js';
import { PubSubEventBus } from '../../shared/adapters/pubsub/index.js';
import { GcsObjectNotification } from '../../shared/domain/events.js';
import type { Run } from '../../shared/domain/tracking.js';
import { TOPICS } from '../../shared/domain/topics.js';
import type { StoredObject } from '../../shared/ports/artifact-store.port.js';
import { registerModel } from '../../shared/services/register-model.js';
import { useEmulators } from '../support/environment.js';
import { type MlflowServer, serveMlflowRoutes } from '../support/mlflow-server.js';
import { binaryClassifierOnnx, corruptOnnx } from '../support/models.js';

// The MLflow registry routes on real stores: Firestore and Pub/Sub emulators, a local bucket whose
// notifications reach register-model (called on each notification the bucket emits, as the
// model-artifacts subscription would), and a real HTTP server between the client and the routes.
const { projectId } = useEmulators();
const client = new Firestore({ projectId, ignoreUndefinedProperties: true });
const pubsub = new PubSub({ projectId });
const registry = new FirestoreModelRegistry({ projectId, client });
const tracking = new FirestoreTrackingStore({ projectId, client });
const loggedModels = new FirestoreLoggedModelStore({ projectId, client });
const bus = new PubSubEventBus({ projectId, client: pubsub, maxBatchDelayMs: 0 });
const runner = new OnnxModelRunner();
const root = mkdtempSync(join(tmpdir(), 'mlflow-registry-'));
const registrations: Promise<unknown>[] = [];
const deliver = (object: StoredObject) =>
  registerModel(GcsObjectNotification.parse(bucketNotificationFor(object)!.data), { artifacts: bucket, registry, runner, bus }).catch(
    (error: unknown) => error,
  );
const bucket: LocalBucketArtifactStore = new LocalBucketArtifactStore({
  root,
  bucket: 'mlops-artifacts',
  // Not awaited: the bucket answers the upload before register-model runs, as GCS does.
  onFinalize: async (object) => {
    if (bucketNotificationFor(object)) registrations.push(deliver(object));
  },
});
// The same bucket with no notification wired: nothing registers what is written to it.
const unheard = new LocalBucketArtifactStore({ root, bucket: 'mlops-artifacts' });

const deps = (overrides: Partial<MlflowDeps> = {}): MlflowDeps => ({
  tracking: async () => tracking,
  artifacts: async () => bucket,
  registry: async () => registry,
  loggedModels: async () => loggedModels,
  bus: () => bus,
  policy: { requireStaging: false },
  registrationTimeoutMs: 15_000,
  ...overrides,
});
const servers: MlflowServer[] = [];
const urls: Record<'open' | 'strict' | 'deaf', string> = { open: '', strict: '', deaf: '' };
const promoted: { model: string; alias: string; version: number; actor: string }[] = [];
let subscription: Subscription;

async function listen(options: MlflowDeps): Promise<string> {
  const server = await serveMlflowRoutes(options, 'k3y');
  servers.push(server);
  return server.base;
}

beforeAll(async () => {
  await pubsub.createTopic(TOPICS.modelRegistered);
  const [topic] = await pubsub.createTopic(TOPICS.modelPromoted);
  [subscription] = await topic.createSubscription(`${TOPICS.modelPromoted}-test`);
  subscription.on('message', (message: Message) => {
    promoted.push(JSON.parse(message.data.toString()));
    message.ack();
  });
  urls.open = await listen(deps());
  urls.strict = await listen(deps({ policy: { requireStaging: true } }));
  urls.deaf = await listen(deps({ artifacts: async () => unheard, registrationTimeoutMs: 500 }));
});

afterAll(async () => {
  await Promise.all(registrations);
  await Promise.all(servers.map((server) => server.close()));
  await subscription.close();
  await bus.close();
  await client.terminate();
});

/** What the registry routes answer: one of these fields, or an error. */
interface Body {
  error_code?: string;
  message?: string;
  registered_model?: RegisteredModelJson;
  registered_models?: RegisteredModelJson[];
  model_version?: ModelVersionJson;
  model_versions?: ModelVersionJson[];
  next_page_token?: string;
  artifact_uri?: string;
}

interface Answer {
  status: number;
  body: Body;
}

/** One call as MLflow's client makes it: GET with the query string, anything else with a JSON body. */
async function mlflow(method: string, path: string, message: Record<string, unknown> = {}, { url = urls.open, key = 'k3y' } = {}): Promise<Answer> {
  const query = method === 'GET' ? `?${new URLSearchParams(Object.entries(message).map(([name, value]) => [name, String(value)]))}` : '';
  const response = await fetch(`${url}/api/2.0/mlflow/${path}${query}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: method === 'GET' ? undefined : JSON.stringify(message),
  });
  return { status: response.status, body: (await response.json()) as Body };
}

// What mlflow.onnx.log_model writes beside model.onnx (MLflow 2.x; 3.x adds model_id).
const ONNX_MLMODEL = `artifact_path: model
flavors:
  onnx:
    code: null
    data: model.onnx
    onnx_version: 1.14.0
    providers:
    - CUDAExecutionProvider
    - CPUExecutionProvider
  python_function:
    data: model.onnx
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.onnx
    python_version: 3.10.12
mlflow_version: 2.9.2
model_uuid: 0a1b2c3d4e5f40718293a4b5c6d7e8f9
utc_time_created: '2024-01-01 00:00:00.000000'
`;
const SKLEARN_MLMODEL = `artifact_path: model
flavors:
  python_function:
    loader_module: mlflow.sklearn
    pickle_loaded: model.pkl
  sklearn:
    pickled_model: model.pkl
    serialization_format: cloudpickle
`;

/** A run with params and metrics, and files under its artifacts (path inside the run -> bytes or text). */
async function runWith(files: Record<string, Uint8Array | string>): Promise<Run> {
  const { experiment } = await tracking.createExperiment('mlflow-registry');
  const run = await tracking.createRun({ experimentId: experiment.id, tags: { 'mlflow.user': 'ada' } });
  await tracking.logBatch(run.id, { params: { C: '0.5' }, metrics: [{ key: 'auc', value: 0.91, step: 0, timestamp: Date.now() }] });
  for (const [path, content] of Object.entries(files)) {
    await bucket.put(`runs/${run.id}/artifacts/${path}`, typeof content === 'string' ? new TextEncoder().encode(content) : content);
  }
  return run;
}

const artifactsUri = (run: Run, path: string) => `mlflow-artifacts:/${run.experimentId}/${run.id}/artifacts/${path}`;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('registered models over MLflow', () => {
  it('creates a registered model once, as register_model expects (RESOURCE_ALREADY_EXISTS the second time)', async () => {
    const created = await mlflow('POST', 'registered-models/create', { name: 'churn', tags: [{ key: 'team', value: 'risk' }], description: 'scores churn' });
    expect(created.status).toBe(200);
    expect(created.body.registered_model).toMatchObject({
      name: 'churn',
      description: 'scores churn',
      latest_versions: [],
      tags: [{ key: 'team', value: 'risk' }],
      aliases: [],
    });
    expect(typeof created.body.registered_model!.creation_timestamp).toBe('number');
    const again = await mlflow('POST', 'registered-models/create', { name: 'churn' });
    expect(again).toMatchObject({ status: 400, body: { error_code: 'RESOURCE_ALREADY_EXISTS' } });
    expect(await mlflow('GET', 'registered-models/get', { name: 'churn' })).toMatchObject({ status: 200, body: created.body });
    expect(await mlflow('GET', 'registered-models/get', { name: 'nobody' })).toMatchObject({ status: 404, body: { error_code: 'RESOURCE_DOES_NOT_EXIST' } });
    expect(await mlflow('POST', 'registered-models/create', { name: 'Churn Model' })).toMatchObject({
      status: 400,
      body: { error_code: 'INVALID_PARAMETER_VALUE' },
    });
    expect(await mlflow('POST', 'registered-models/create', { name: 'churn' }, { key: 'wrong' })).toMatchObject({
      status: 401,
      body: { error_code: 'UNAUTHENTICATED' },
    });
  });
});

describe('model versions registered from an MLflow source', () => {
  const onnx = binaryClassifierOnnx();

  it('registers the ONNX file an MLmodel names through register-model: READY, with the run as lineage', async () => {
    const run = await runWith({ 'model/MLmodel': ONNX_MLMODEL, 'model/model.onnx': onnx, 'model/conda.yaml': 'name: mlflow-env\n' });
    // As MLflow's 2.x client sends it: the run's artifact folder as source, and the run id.
    const request = {
      name: 'fraud',
      source: artifactsUri(run, 'model'),
      run_id: run.id,
      tags: [{ key: 'stage', value: 'candidate' }],
      description: 'first try',
    };
    const answer = await mlflow('POST', 'model-versions/create', request);
    expect(answer.status).toBe(200);
    expect(answer.body.model_version).toMatchObject({
      name: 'fraud',
      version: '1',
      status: 'READY',
      source: request.source,
      run_id: run.id,
      user_id: 'ada',
      current_stage: 'None',
      description: 'first try',
      tags: [{ key: 'stage', value: 'candidate' }],
      aliases: [],
    });
    const version = (await registry.getVersion('fraud', 1))!;
    expect(version.artifactUri).toMatch(/^gs:\/\/mlops-artifacts\/models\/fraud\/mlflow-[0-9a-f]{16}\/model\.onnx$/);
    expect(version).toMatchObject({ sha256: sha256(onnx), params: { C: '0.5' }, metrics: { auc: 0.91 }, lineage: { runId: run.id, source: request.source } });
    expect(answer.body.model_version!.creation_timestamp).toBe(Date.parse(version.createdAt));
  });

  it('answers a retried create with the same version, uploading nothing new', async () => {
    const run = await runWith({ 'model/MLmodel': ONNX_MLMODEL, 'model/model.onnx': onnx });
    const request = { name: 'retried', source: artifactsUri(run, 'model'), run_id: run.id };
    const first = await mlflow('POST', 'model-versions/create', request);
    const second = await mlflow('POST', 'model-versions/create', request);
    expect([first.body.model_version!.version, second.body.model_version!.version]).toEqual(['1', '1']);
    expect(await bucket.list('models/retried/')).toHaveLength(1);
    expect(await registry.listVersions('retried')).toHaveLength(1);
  });

  it('resolves runs:/ sources and a lone .onnx file, and answers download URIs the artifact proxy serves', async () => {
    const run = await runWith({ 'exported/classifier.onnx': onnx, 'exported/notes.txt': 'trained on May data' });
    const fromFolder = await mlflow('POST', 'model-versions/create', { name: 'lone', source: `runs:/${run.id}/exported` });
    expect(fromFolder.body.model_version).toMatchObject({ version: '1', status: 'READY', run_id: run.id, source: `runs:/${run.id}/exported` });
    const fromFile = await mlflow('POST', 'model-versions/create', { name: 'lone', source: artifactsUri(run, 'exported/classifier.onnx') });
    expect(fromFile.body.model_version).toMatchObject({ version: '2', status: 'READY', run_id: run.id });
    expect(await mlflow('GET', 'model-versions/get-download-uri', { name: 'lone', version: '1' })).toEqual({
      status: 200,
      body: { artifact_uri: artifactsUri(run, 'exported') },
    });
    expect((await mlflow('GET', 'model-versions/get-download-uri', { name: 'lone', version: '2' })).body.artifact_uri).toBe(
      artifactsUri(run, 'exported/classifier.onnx'),
    );
    expect(await mlflow('GET', 'model-versions/get', { name: 'lone', version: '2' })).toMatchObject({
      status: 200,
      body: { model_version: fromFile.body.model_version },
    });
    expect(await mlflow('GET', 'model-versions/get', { name: 'lone', version: '3' })).toMatchObject({
      status: 404,
      body: { error_code: 'RESOURCE_DOES_NOT_EXIST' },
    });
  });

  it("registers MLflow 3's logged model (models:/<id>) with its source run, and downloads from its artifact location", async () => {
    const run = await runWith({});
    const logged = await loggedModels.create({ experimentId: run.experimentId, name: 'model', sourceRunId: run.id, params: {}, tags: {} });
    await bucket.put(`logged-models/${logged.id}/artifacts/MLmodel`, new TextEncoder().encode(`model_id: ${logged.id}\n${ONNX_MLMODEL}`));
    await bucket.put(`logged-models/${logged.id}/artifacts/model.onnx`, onnx);
    const answer = await mlflow('POST', 'model-versions/create', { name: 'logged', source: `models:/${logged.id}`, model_id: logged.id });
    expect(answer.body.model_version).toMatchObject({ version: '1', status: 'READY', run_id: run.id, model_id: logged.id, source: `models:/${logged.id}` });
    expect((await registry.getVersion('logged', 1))?.lineage).toMatchObject({ runId: run.id, loggedModelId: logged.id });
    expect((await mlflow('GET', 'model-versions/get-download-uri', { name: 'logged', version: '1' })).body.artifact_uri).toBe(logged.artifactLocation);
    const missing = await mlflow('POST', 'model-versions/create', { name: 'logged', source: `models:/m-${'0'.repeat(32)}` });
    expect(missing).toMatchObject({ status: 404, body: { error_code: 'RESOURCE_DOES_NOT_EXIST' } });
  });

  it('answers FAILED_REGISTRATION with register-model’s reason for a file that is no model, taking no version number', async () => {
    const run = await runWith({ 'model/MLmodel': ONNX_MLMODEL, 'model/model.onnx': corruptOnnx() });
    const answer = await mlflow('POST', 'model-versions/create', { name: 'broken', source: artifactsUri(run, 'model'), run_id: run.id });
    expect(answer.status).toBe(200);
    expect(answer.body.model_version).toMatchObject({ name: 'broken', version: '0', status: 'FAILED_REGISTRATION', run_id: run.id });
    expect(answer.body.model_version!.status_message).toMatch(/^register-model rejected the model: .+/);
    const rejection = (await registry.history('broken')).find((entry) => entry.action === 'rejected')!;
    expect(answer.body.model_version!.status_message).toContain(rejection.reason.split(': ').slice(1).join(': '));
    expect(await registry.listVersions('broken')).toEqual([]);
  });

  it('answers FAILED_REGISTRATION saying what was found when a source holds no ONNX model, uploading nothing', async () => {
    const run = await runWith({ 'model/MLmodel': SKLEARN_MLMODEL, 'model/model.pkl': 'pickle bytes' });
    const answer = await mlflow('POST', 'model-versions/create', { name: 'sklearn', source: artifactsUri(run, 'model'), run_id: run.id });
    expect(answer.body.model_version).toMatchObject({ version: '0', status: 'FAILED_REGISTRATION' });
    expect(answer.body.model_version!.status_message).toMatch(/No ONNX model under .*found MLmodel, model\.pkl.*mlflow\.onnx\.log_model/);
    const empty = await mlflow('POST', 'model-versions/create', { name: 'sklearn', source: artifactsUri(run, 'nothing-here') });
    expect(empty.body.model_version!.status_message).toMatch(/^Nothing is stored under/);
    expect(await bucket.list('models/sklearn/')).toEqual([]);
  });

  it('refuses a run that does not exist (404) and a source it cannot read (400)', async () => {
    expect(await mlflow('POST', 'model-versions/create', { name: 'ghost', source: 'runs:/no-such-run/model' })).toMatchObject({
      status: 404,
      body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: expect.stringContaining('no-such-run') },
    });
    const s3 = await mlflow('POST', 'model-versions/create', { name: 'ghost', source: 's3://bucket/model' });
    expect(s3).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE', message: expect.stringContaining('runs:/') } });
    expect(await mlflow('POST', 'model-versions/create', { name: 'ghost' })).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
  });

  it('answers 503 when register-model does not decide in time, and the retry waits on the same upload', async () => {
    const run = await runWith({ 'model/MLmodel': ONNX_MLMODEL, 'model/model.onnx': onnx });
    const request = { name: 'late', source: artifactsUri(run, 'model'), run_id: run.id };
    const timedOut = await mlflow('POST', 'model-versions/create', request, { url: urls.deaf });
    expect(timedOut).toMatchObject({
      status: 503,
      body: { error_code: 'TEMPORARILY_UNAVAILABLE', message: expect.stringContaining('mlops models show late') },
    });
    const [uploaded] = await bucket.list('models/late/');
    // The notification arrives late; the client's retry finds the same object and its version.
    await deliver(uploaded!);
    const retried = await mlflow('POST', 'model-versions/create', request, { url: urls.deaf });
    expect(retried.body.model_version).toMatchObject({ version: '1', status: 'READY' });
    expect(await bucket.list('models/late/')).toEqual([uploaded]);
  });
});

describe('aliases, search and latest versions over MLflow', () => {
  beforeAll(async () => {
    const run = await runWith({ 'model/MLmodel': ONNX_MLMODEL, 'model/model.onnx': binaryClassifierOnnx(), 'other/model.onnx': binaryClassifierOnnx() });
    await mlflow('POST', 'registered-models/create', { name: 'scorer', tags: [{ key: 'team', value: 'growth' }] });
    await mlflow('POST', 'model-versions/create', { name: 'scorer', source: artifactsUri(run, 'model'), run_id: run.id });
    await mlflow('POST', 'model-versions/create', { name: 'scorer', source: artifactsUri(run, 'other'), run_id: run.id, tags: [{ key: 'kind', value: 'b' }] });
    await mlflow('POST', 'registered-models/create', { name: 'scorer-shadow' });
  }, 60_000);

  it('moves an alias as mlops promote does (audit entry and model-promoted event), and resolves it', async () => {
    expect(await mlflow('POST', 'registered-models/alias', { name: 'scorer', alias: 'production', version: '1' })).toEqual({ status: 200, body: {} });
    const resolved = await mlflow('GET', 'registered-models/alias', { name: 'scorer', alias: 'production' });
    expect(resolved.body.model_version).toMatchObject({ name: 'scorer', version: '1', status: 'READY', aliases: ['production'] });
    const model = (await mlflow('GET', 'registered-models/get', { name: 'scorer' })).body.registered_model;
    expect(model).toMatchObject({ aliases: [{ alias: 'production', version: '1' }], latest_versions: [{ version: '2', aliases: [] }] });
    expect(
      (await registry.history('scorer')).filter((entry) => entry.action === 'promoted').map((entry) => [entry.alias, entry.toVersion, entry.actor]),
    ).toEqual([['production', 1, 'mlflow']]);
    await expect.poll(() => promoted.find((event) => event.model === 'scorer'), { timeout: 10_000 }).toMatchObject({ alias: 'production', version: 1 });
    expect(await mlflow('GET', 'registered-models/alias', { name: 'scorer', alias: 'champion' })).toMatchObject({
      status: 404,
      body: { error_code: 'RESOURCE_DOES_NOT_EXIST' },
    });
    expect(await mlflow('POST', 'registered-models/alias', { name: 'scorer', alias: 'production', version: '9' })).toMatchObject({
      status: 404,
      body: { error_code: 'RESOURCE_DOES_NOT_EXIST' },
    });
  });

  it('refuses what the promotion policy refuses, with our reason (INVALID_STATE)', async () => {
    const refused = await mlflow('POST', 'registered-models/alias', { name: 'scorer', alias: 'production', version: '2' }, { url: urls.strict });
    expect(refused).toMatchObject({ status: 400, body: { error_code: 'INVALID_STATE', message: expect.stringContaining('staging before production') } });
    expect((await registry.getModel('scorer'))?.aliases.production).toBe(1);
  });

  it('removes an alias with an audit entry, and refuses to remove production', async () => {
    await mlflow('POST', 'registered-models/alias', { name: 'scorer', alias: 'staging', version: '2' });
    expect(await mlflow('DELETE', 'registered-models/alias', { name: 'scorer', alias: 'staging' })).toEqual({ status: 200, body: {} });
    expect(await mlflow('GET', 'registered-models/alias', { name: 'scorer', alias: 'staging' })).toMatchObject({ status: 404 });
    expect((await registry.history('scorer')).filter((entry) => entry.action === 'alias_removed').map((entry) => [entry.alias, entry.fromVersion])).toEqual([
      ['staging', 2],
    ]);
    const production = await mlflow('DELETE', 'registered-models/alias', { name: 'scorer', alias: 'production' });
    expect(production).toMatchObject({
      status: 400,
      body: { error_code: 'INVALID_STATE', message: expect.stringMatching(/serving follows.*mlops rollback scorer/) },
    });
  });

  it('searches registered models by name and tag, page by page', async () => {
    const names = async (filter: string) => (await mlflow('GET', 'registered-models/search', { filter })).body.registered_models!.map((model) => model.name);
    expect(await names("name LIKE 'scorer%'")).toEqual(['scorer', 'scorer-shadow']);
    expect(await names("name = 'scorer'")).toEqual(['scorer']);
    expect(await names("tags.team = 'growth' AND name ILIKE 'SCOR%'")).toEqual(['scorer']);
    const first = await mlflow('POST', 'registered-models/search', { filter: "name LIKE 'scorer%'", max_results: 1, order_by: ['name DESC'] });
    expect(first.body.registered_models!.map((model) => model.name)).toEqual(['scorer-shadow']);
    const second = await mlflow('POST', 'registered-models/search', {
      filter: "name LIKE 'scorer%'",
      max_results: 1,
      order_by: ['name DESC'],
      page_token: first.body.next_page_token,
    });
    expect(second.body).toMatchObject({ registered_models: [{ name: 'scorer', latest_versions: [{ version: '2' }] }] });
    expect(second.body.next_page_token).toBeUndefined();
    expect(await mlflow('GET', 'registered-models/search', { filter: "owner = 'me'" })).toMatchObject({
      status: 400,
      body: { error_code: 'INVALID_PARAMETER_VALUE' },
    });
  });

  it('searches model versions by model and by run, and answers the latest version of stage None', async () => {
    const versions = async (filter: string) =>
      (await mlflow('GET', 'model-versions/search', { filter })).body.model_versions!.map(
        (version: { name: string; version: string }) => `${version.name}/${version.version}`,
      );
    expect(await versions("name='scorer'")).toEqual(['scorer/2', 'scorer/1']);
    const runId = (await registry.getVersion('scorer', 1))!.lineage.runId!;
    expect(await versions(`run_id = '${runId}'`)).toEqual(['scorer/2', 'scorer/1']);
    expect(await versions("name = 'scorer' AND tags.kind = 'b'")).toEqual(['scorer/2']);
    for (const method of ['GET', 'POST']) {
      const latest = await mlflow(method, 'registered-models/get-latest-versions', { name: 'scorer' });
      expect(latest.body.model_versions!.map((version) => version.version)).toEqual(['2']);
    }
    expect((await mlflow('POST', 'registered-models/get-latest-versions', { name: 'scorer', stages: ['Production'] })).body).toEqual({ model_versions: [] });
    expect((await mlflow('POST', 'registered-models/get-latest-versions', { name: 'scorer-shadow' })).body).toEqual({ model_versions: [] });
  });
});
