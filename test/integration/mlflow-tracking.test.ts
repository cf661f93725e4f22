import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, describe, expect, it } from 'vitest';
import { createTrackingApi, type TrackingApiOptions } from '../../functions/tracking/app.js';
import { FirestoreLoggedModelStore, FirestoreModelRegistry, FirestoreTrackingStore } from '../../shared/adapters/firestore/index.js';
import { LocalBucketArtifactStore } from '../../shared/adapters/local-bucket/index.js';
import { PubSubEventBus } from '../../shared/adapters/pubsub/index.js';
import { hashApiKey } from '../../shared/http/auth.js';
import { useEmulators } from '../support/environment.js';

// MLflow's experiment and run calls on the whole tracking app (native routes beside them), on the
// Firestore emulator, called through the app's fetch with the JSON MLflow's Python client sends.
const { projectId } = useEmulators();
const client = new Firestore({ projectId, ignoreUndefinedProperties: true });
const pubsub = new PubSub({ projectId });
const tracking = new FirestoreTrackingStore({ projectId, client });
const bus = new PubSubEventBus({ projectId, client: pubsub, maxBatchDelayMs: 0 });
const options: TrackingApiOptions = {
  tracking: async () => tracking,
  artifacts: async () => new LocalBucketArtifactStore({ root: mkdtempSync(join(tmpdir(), 'mlflow-tracking-')), bucket: 'artifacts' }),
  registry: async () => new FirestoreModelRegistry({ projectId, client }),
  loggedModels: async () => new FirestoreLoggedModelStore({ projectId, client }),
  bus: () => bus,
  policy: { requireStaging: false },
  apiKeyHashes: [hashApiKey('k3y')],
};
const app = createTrackingApi(options);

afterAll(async () => {
  await bus.close();
  await client.terminate();
});

/** MLflow's JSON answers, read field by field in the assertions. */
// biome-ignore lint/suspicious/noExplicitAny: each test reads the nested fields it checks, of the shapes MLflow's protos give.
type MlflowJson = Record<string, any>;

interface Answer {
  status: number;
  body: MlflowJson;
}

/** One call as MLflow's client makes it (rest_utils.call_endpoint): GET with a query string (lists as repeated keys), else a JSON body. */
async function mlflow(
  method: string,
  path: string,
  message: Record<string, unknown> = {},
  { key = 'k3y', api = createTrackingApi(options) } = {},
): Promise<Answer> {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(message)) for (const item of [value].flat()) query.append(name, String(item));
  const response = await api.request(`/api/2.0/mlflow/${path}${method === 'GET' ? `?${query}` : ''}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), 'content-type': 'application/json' },
    body: method === 'GET' ? undefined : JSON.stringify(message),
  });
  return { status: response.status, body: (await response.json()) as MlflowJson };
}
const ok = async (method: string, path: string, message: Record<string, unknown> = {}) => {
  const answer = await mlflow(method, path, message, { api: app });
  expect(answer, `${method} ${path}`).toMatchObject({ status: 200 });
  return answer.body;
};
const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
const newRun = async (experimentId: string, extra: Record<string, unknown> = {}) =>
  (await ok('POST', 'runs/create', { experiment_id: experimentId, start_time: 1_700_000_000_000, ...extra })).run;

describe('MLflow experiments', () => {
  it('has the default experiment "0" on first use, made once when first uses race', async () => {
    const answers = await Promise.all([
      ...Array.from({ length: 4 }, () => ok('GET', 'experiments/get-by-name', { experiment_name: 'Default' })),
      ...Array.from({ length: 4 }, () => ok('GET', 'experiments/get', { experiment_id: '0' })),
    ]);
    expect(new Set(answers.map((answer) => answer.experiment.experiment_id))).toEqual(new Set(['0']));
    expect(answers[0]!.experiment).toMatchObject({ name: 'Default', lifecycle_stage: 'active', artifact_location: 'mlflow-artifacts:/0', tags: [] });
    expect((await tracking.listExperiments()).filter((experiment) => experiment.name === 'Default')).toHaveLength(1);
    const run = await newRun('0');
    expect(run.info).toMatchObject({ experiment_id: '0', artifact_uri: `mlflow-artifacts:/0/${run.info.run_id}/artifacts` });
  });

  it('gets by name, creates once and answers int64 times as JSON numbers', async () => {
    const name = unique('churn');
    expect(await mlflow('GET', 'experiments/get-by-name', { experiment_name: name })).toEqual({
      status: 404,
      body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: expect.stringContaining(name) },
    });
    const { experiment_id } = await ok('POST', 'experiments/create', { name, tags: [{ key: 'team', value: 'risk' }] });
    expect(experiment_id).toMatch(/^[0-9a-f]{20}$/);
    expect(await mlflow('POST', 'experiments/create', { name })).toMatchObject({ status: 400, body: { error_code: 'RESOURCE_ALREADY_EXISTS' } });
    const { experiment } = await ok('GET', 'experiments/get', { experiment_id });
    expect(experiment).toEqual({
      experiment_id,
      name,
      artifact_location: `mlflow-artifacts:/${experiment_id}`,
      lifecycle_stage: 'active',
      creation_time: expect.any(Number),
      last_update_time: experiment.creation_time,
      tags: [{ key: 'team', value: 'risk' }],
    });
    expect(Math.abs(experiment.creation_time - Date.now())).toBeLessThan(60_000);
    expect((await ok('GET', 'experiments/get-by-name', { experiment_name: name })).experiment).toEqual(experiment);
    expect(await mlflow('GET', 'experiments/get', { experiment_id: 'nope' })).toMatchObject({ status: 404, body: { error_code: 'RESOURCE_DOES_NOT_EXIST' } });
    expect(await mlflow('POST', 'experiments/create', { name: unique('x'), artifact_location: 's3://b' })).toMatchObject({
      status: 400,
      body: { error_code: 'INVALID_PARAMETER_VALUE', message: expect.stringContaining('artifact_location') },
    });
  });

  it('searches by name, LIKE and tag, in order, a page at a time, by POST and GET', async () => {
    const prefix = unique('search');
    for (const [suffix, team] of [
      ['b', 'risk'],
      ['a', 'growth'],
      ['c', 'risk'],
    ]) {
      await ok('POST', 'experiments/create', { name: `${prefix}-${suffix}`, tags: [{ key: 'team', value: team }] });
    }
    const names = (body: MlflowJson) => body.experiments.map((experiment: { name: string }) => experiment.name);
    expect(names(await ok('POST', 'experiments/search', { filter: `name LIKE '${prefix}%'`, order_by: ['name ASC'] }))).toEqual(
      ['a', 'b', 'c'].map((s) => `${prefix}-${s}`),
    );
    expect(names(await ok('POST', 'experiments/search', { filter: `name LIKE '${prefix}%' AND tags.team = 'risk'`, order_by: ['name DESC'] }))).toEqual([
      `${prefix}-c`,
      `${prefix}-b`,
    ]);
    expect(names(await ok('GET', 'experiments/search', { filter: `name = '${prefix}-a'` }))).toEqual([`${prefix}-a`]);
    // Newest first when no order is given.
    expect(names(await ok('GET', 'experiments/search', { filter: `attribute.name ILIKE '${prefix.toUpperCase()}%'`, max_results: '5' }))).toEqual(
      ['c', 'a', 'b'].map((s) => `${prefix}-${s}`),
    );
    const first = await ok('POST', 'experiments/search', { filter: `name LIKE '${prefix}%'`, order_by: ['name'], max_results: 2 });
    expect(names(first)).toEqual([`${prefix}-a`, `${prefix}-b`]);
    const second = await ok('GET', 'experiments/search', {
      filter: `name LIKE '${prefix}%'`,
      order_by: 'name',
      max_results: 2,
      page_token: first.next_page_token,
    });
    expect(second).toEqual({ experiments: [expect.objectContaining({ name: `${prefix}-c` })] });
    expect(names(await ok('POST', 'experiments/search', {}))).toContain('Default');
    expect(await mlflow('POST', 'experiments/search', { page_token: 'bogus' })).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE' } });
    expect(await mlflow('POST', 'experiments/search', { filter: 'name > 3' })).toMatchObject({
      status: 400,
      body: { error_code: 'INVALID_PARAMETER_VALUE', message: expect.stringContaining('name is text') },
    });
  });
});

describe('MLflow runs', () => {
  it('creates a run with the client’s tags, logs params, metrics with steps and batches, and ends it', async () => {
    const { experiment_id } = await ok('POST', 'experiments/create', { name: unique('runs') });
    const tags = [
      { key: 'mlflow.user', value: 'ana' },
      { key: 'mlflow.source.name', value: 'train.py' },
      { key: 'mlflow.runName', value: 'baseline' },
    ];
    const run = await newRun(experiment_id, { user_id: 'ana', tags });
    const runId = run.info.run_id;
    expect(run.info).toEqual({
      run_id: runId,
      run_uuid: runId,
      run_name: 'baseline',
      experiment_id,
      user_id: 'ana',
      status: 'RUNNING',
      start_time: 1_700_000_000_000,
      artifact_uri: `mlflow-artifacts:/${experiment_id}/${runId}/artifacts`,
      lifecycle_stage: 'active',
    });
    expect(run.data).toEqual({ metrics: [], params: [], tags: expect.arrayContaining(tags) });
    expect(run).toMatchObject({ inputs: { dataset_inputs: [] }, outputs: { model_outputs: [] } });

    await ok('POST', 'runs/log-parameter', { run_id: runId, run_uuid: runId, key: 'lr', value: '0.1' });
    await ok('POST', 'runs/log-parameter', { run_uuid: runId, key: 'lr', value: '0.1' });
    expect(await mlflow('POST', 'runs/log-parameter', { run_id: runId, key: 'lr', value: '0.2' })).toMatchObject({
      status: 400,
      body: { error_code: 'INVALID_PARAMETER_VALUE', message: expect.stringContaining('"0.1"') },
    });
    for (const step of [0, 1, 2])
      await ok('POST', 'runs/log-metric', { run_id: runId, key: 'loss', value: 1 / (step + 1), timestamp: 1_700_000_000_100 + step, step });
    // int64 fields as proto3 JSON strings, as older clients write them.
    await ok('POST', 'runs/log-metric', { run_id: runId, key: 'auc', value: 0.9, timestamp: '1700000000500', step: '5' });
    await ok('POST', 'runs/log-batch', {
      run_id: runId,
      metrics: [{ key: 'loss', value: 0.2, timestamp: 1_700_000_000_200, step: 3 }],
      params: [{ key: 'epochs', value: '3' }],
      tags: [{ key: 'stage', value: 'train' }],
    });
    const logged = (await ok('GET', 'runs/get', { run_id: runId })).run;
    expect(logged.data.metrics).toEqual([
      { key: 'auc', value: 0.9, timestamp: 1_700_000_000_500, step: 5 },
      { key: 'loss', value: 0.2, timestamp: 1_700_000_000_200, step: 3 },
    ]);
    expect(logged.data.params).toEqual([
      { key: 'epochs', value: '3' },
      { key: 'lr', value: '0.1' },
    ]);
    expect(logged.data.tags).toContainEqual({ key: 'stage', value: 'train' });

    const history = await ok('GET', 'metrics/get-history', { run_id: runId, metric_key: 'loss' });
    expect(history).toEqual({
      metrics: [0, 1, 2, 3].map((step) => ({
        key: 'loss',
        step,
        value: step === 3 ? 0.2 : 1 / (step + 1),
        timestamp: 1_700_000_000_100 + (step === 3 ? 100 : step),
      })),
    });
    const page = await ok('GET', 'metrics/get-history', { run_uuid: runId, metric_key: 'loss', max_results: 3 });
    expect(page.metrics.map((point: { step: number }) => point.step)).toEqual([0, 1, 2]);
    const rest = await ok('GET', 'metrics/get-history', { run_id: runId, metric_key: 'loss', max_results: 3, page_token: page.next_page_token });
    expect(rest).toEqual({ metrics: [expect.objectContaining({ step: 3 })] });

    const { run_info } = await ok('POST', 'runs/update', { run_id: runId, run_uuid: runId, status: 'FINISHED', end_time: 1_700_000_900_000 });
    expect(run_info).toMatchObject({ status: 'FINISHED', end_time: 1_700_000_900_000, run_name: 'baseline' });
    const resumed = (await ok('POST', 'runs/update', { run_id: runId, status: 'RUNNING', run_name: 'second try' })).run_info;
    expect(resumed).toMatchObject({ status: 'RUNNING', run_name: 'second try' });
    expect(resumed.end_time).toBeUndefined();
    expect(await mlflow('POST', 'runs/update', { run_id: runId, status: 'SCHEDULED' })).toMatchObject({
      status: 400,
      body: { error_code: 'INVALID_PARAMETER_VALUE' },
    });
    expect((await ok('GET', 'runs/get', { run_id: runId })).run.data.tags).toContainEqual({ key: 'mlflow.runName', value: 'second try' });

    // The native API sees the same run.
    const native = await app.request(`/runs/${runId}`, { headers: { authorization: 'Bearer k3y' } });
    expect(await native.json()).toMatchObject({ run: { id: runId, name: 'second try', params: { lr: '0.1', epochs: '3' }, metrics: { loss: 0.2, auc: 0.9 } } });
  });

  it('sets and deletes tags, renames by the name tag, and refuses a missing tag or run', async () => {
    const runId = (await newRun('0')).info.run_id;
    await ok('POST', 'runs/set-tag', { run_id: runId, key: 'team', value: 'risk' });
    await ok('POST', 'runs/set-tag', { run_id: runId, key: 'mlflow.runName', value: 'renamed' });
    expect((await ok('GET', 'runs/get', { run_id: runId })).run).toMatchObject({
      info: { run_name: 'renamed' },
      data: { tags: expect.arrayContaining([{ key: 'team', value: 'risk' }]) },
    });
    await ok('POST', 'runs/delete-tag', { run_id: runId, key: 'team' });
    expect((await ok('GET', 'runs/get', { run_id: runId })).run.data.tags).not.toContainEqual({ key: 'team', value: 'risk' });
    expect(await mlflow('POST', 'runs/delete-tag', { run_id: runId, key: 'team' })).toMatchObject({
      status: 404,
      body: { error_code: 'RESOURCE_DOES_NOT_EXIST' },
    });
    for (const [method, path, message] of [
      ['GET', 'runs/get', { run_id: 'missing' }],
      ['POST', 'runs/log-metric', { run_id: 'missing', key: 'a', value: 1, timestamp: 1, step: 0 }],
      ['POST', 'runs/update', { run_id: 'missing', status: 'FINISHED' }],
      ['GET', 'metrics/get-history', { run_id: 'missing', metric_key: 'a' }],
      ['POST', 'runs/create', { experiment_id: 'missing' }],
    ] as const) {
      expect(await mlflow(method, path, message), path).toMatchObject({
        status: 404,
        body: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: expect.any(String) },
      });
    }
  });

  it('keeps MLflow’s log-batch bounds and stores a retried batch once', async () => {
    const runId = (await newRun('0')).info.run_id;
    const metrics = (count: number) => Array.from({ length: count }, (_, step) => ({ key: 'm', value: step, timestamp: 1_700_000_000_000, step }));
    expect(await mlflow('POST', 'runs/log-batch', { run_id: runId, metrics: metrics(1001) })).toMatchObject({
      status: 400,
      body: { error_code: 'INVALID_PARAMETER_VALUE', message: expect.stringContaining('at most 1000 metrics; got 1001') },
    });
    const params = (count: number) => Array.from({ length: count }, (_, index) => ({ key: `p${index}`, value: 'x' }));
    expect(await mlflow('POST', 'runs/log-batch', { run_id: runId, params: params(101) })).toMatchObject({
      status: 400,
      body: { error_code: 'INVALID_PARAMETER_VALUE' },
    });
    expect(await mlflow('POST', 'runs/log-batch', { run_id: runId, metrics: metrics(950), params: params(51) })).toMatchObject({
      status: 400,
      body: { message: expect.stringContaining('at most 1000 entries') },
    });
    expect(
      await mlflow('POST', 'runs/log-batch', {
        run_id: runId,
        params: [
          { key: 'lr', value: '0.1' },
          { key: 'lr', value: '0.2' },
        ],
      }),
    ).toMatchObject({ status: 400, body: { error_code: 'INVALID_PARAMETER_VALUE', message: expect.stringContaining('given twice') } });
    expect(await mlflow('POST', 'runs/log-metric', { run_id: runId, key: 'nan', value: 'NaN', timestamp: 1, step: 0 })).toMatchObject({
      status: 400,
      body: { error_code: 'INVALID_PARAMETER_VALUE', message: expect.stringContaining('not a finite number') },
    });
    const batch = { run_id: runId, metrics: metrics(1000) };
    await ok('POST', 'runs/log-batch', batch);
    await ok('POST', 'runs/log-batch', batch);
    expect((await ok('GET', 'metrics/get-history', { run_id: runId, metric_key: 'm' })).metrics).toHaveLength(1000);
    expect(await tracking.getRun(runId)).toMatchObject({ params: {}, metrics: { m: 999 } });
  });

  it('searches runs with filters, order and pages, and deletes and restores them', async () => {
    const { experiment_id } = await ok('POST', 'experiments/create', { name: unique('search-runs') });
    const ids: Record<string, string> = {};
    for (const [name, auc, lr] of [
      ['low', 0.7, '0.1'],
      ['high', 0.9, '0.1'],
      ['other', 0.95, '0.01'],
    ] as const) {
      ids[name] = (await newRun(experiment_id, { run_name: name })).info.run_id;
      await ok('POST', 'runs/log-batch', {
        run_id: ids[name],
        metrics: [{ key: 'auc', value: auc, timestamp: 1, step: 0 }],
        params: [{ key: 'lr', value: lr }],
      });
    }
    const search = async (message: Record<string, unknown>) => {
      const body = await ok('POST', 'runs/search', { experiment_ids: [experiment_id], ...message });
      return { names: (body.runs ?? []).map((run: { info: { run_name: string } }) => run.info.run_name), next: body.next_page_token as string | undefined };
    };
    expect((await search({ filter: 'metrics.auc > 0.8 and params.lr = 0.1' })).names).toEqual(['high']);
    expect((await search({ filter: "tags.mlflow.runName LIKE 'l%'" })).names).toEqual(['low']);
    expect((await search({ filter: "attributes.run_name ILIKE '%IGH'" })).names).toEqual(['high']);
    const first = await search({ order_by: ['metrics.auc DESC'], max_results: 2 });
    expect(first.names).toEqual(['other', 'high']);
    expect(await search({ order_by: ['metrics.auc DESC'], max_results: 2, page_token: first.next })).toEqual({ names: ['low'], next: undefined });
    const byGet = await ok('GET', 'runs/search', { experiment_ids: experiment_id, order_by: 'metrics.auc ASC' });
    expect(byGet.runs.map((run: { info: { run_name: string } }) => run.info.run_name)).toEqual(['low', 'high', 'other']);
    expect(await ok('POST', 'runs/search', { experiment_ids: [] })).toEqual({ runs: [] });

    await ok('POST', 'runs/delete', { run_id: ids.low });
    expect((await search({})).names.sort()).toEqual(['high', 'other']);
    expect((await search({ run_view_type: 'DELETED_ONLY' })).names).toEqual(['low']);
    expect((await search({ run_view_type: 'ALL' })).names).toHaveLength(3);
    expect((await ok('GET', 'runs/get', { run_id: ids.low })).run.info.lifecycle_stage).toBe('deleted');
    expect(await mlflow('POST', 'runs/log-parameter', { run_id: ids.low, key: 'late', value: '1' })).toMatchObject({
      status: 400,
      body: { error_code: 'INVALID_PARAMETER_VALUE', message: expect.stringContaining('is deleted') },
    });
    await ok('POST', 'runs/restore', { run_id: ids.low });
    await ok('POST', 'runs/log-parameter', { run_id: ids.low, key: 'late', value: '1' });
    expect((await search({})).names).toHaveLength(3);
    expect(await mlflow('POST', 'runs/search', { experiment_ids: [experiment_id], filter: 'metrics.auc >> 1' })).toMatchObject({
      status: 400,
      body: { error_code: 'INVALID_PARAMETER_VALUE' },
    });
  });
});

describe('MLflow errors and auth', () => {
  it('answers as MLflow’s server: 401 without the key, 404 ENDPOINT_NOT_FOUND for an unknown call, 400 for a bad body', async () => {
    expect(await mlflow('GET', 'experiments/get', { experiment_id: '0' }, { key: '' })).toEqual({
      status: 401,
      body: { error_code: 'UNAUTHENTICATED', message: expect.stringContaining('Authorization: Bearer') },
    });
    expect(await mlflow('GET', 'experiments/get', { experiment_id: '0' }, { key: 'wrong' })).toMatchObject({ status: 401 });
    expect(await mlflow('POST', 'traces/start')).toMatchObject({
      status: 404,
      body: { error_code: 'ENDPOINT_NOT_FOUND', message: expect.stringContaining('traces/start') },
    });
    expect(await mlflow('GET', 'runs/create')).toMatchObject({ status: 404, body: { error_code: 'ENDPOINT_NOT_FOUND' } });
    expect(await mlflow('POST', 'runs/log-metric', { run_id: 'r', key: 'a', value: 'x', timestamp: 'soon' })).toMatchObject({
      status: 400,
      body: { error_code: 'INVALID_PARAMETER_VALUE', message: expect.stringContaining('timestamp') },
    });
    const broken = await app.request('/api/2.0/mlflow/runs/create', { method: 'POST', headers: { authorization: 'Bearer k3y' }, body: '{"experiment_id":' });
    expect({ status: broken.status, body: await broken.json() }).toMatchObject({ status: 400, body: { error_code: 'BAD_REQUEST' } });
  });

  it('hides an unexpected failure behind INTERNAL_ERROR 500, and leaves the native routes their own errors', async () => {
    const failing = createTrackingApi({ ...options, tracking: async () => Promise.reject(new Error('firestore exploded')) });
    expect(await mlflow('GET', 'runs/get', { run_id: 'r' }, { api: failing })).toEqual({
      status: 500,
      body: { error_code: 'INTERNAL_ERROR', message: 'Internal error; see the function logs.' },
    });
    const native = await app.request('/runs/missing', { headers: { authorization: 'Bearer k3y' } });
    expect({ status: native.status, body: await native.json() }).toMatchObject({ status: 404, body: { code: 'TRACKING.RUN_NOT_FOUND' } });
    const unknown = await app.request('/nowhere');
    expect(await unknown.json()).toMatchObject({ code: 'REQUEST.NOT_FOUND' });
  });
});
