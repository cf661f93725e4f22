import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBucketArtifactStore } from '../../shared/adapters/local-bucket/local-bucket-artifact-store.js';
import { useEmulators } from '../support/environment.js';
import { emulatorMlflowDeps, type MlflowServer, serveMlflowRoutes } from '../support/mlflow-server.js';
import { binaryClassifierOnnx } from '../support/models.js';

const { projectId } = useEmulators();
const KEY = 'mlflow-logged-models-key';
const root = mkdtempSync(join(tmpdir(), 'mlflow-logged-models-'));
const artifacts = new LocalBucketArtifactStore({ root, bucket: 'artifacts' });
const { tracking, loggedModels, deps, close } = emulatorMlflowDeps(projectId, artifacts);
let server: MlflowServer;
let base = '';

beforeAll(async () => {
  server = await serveMlflowRoutes(deps, KEY);
  base = server.base;
});

afterAll(async () => {
  await server?.close();
  await close();
  rmSync(root, { recursive: true, force: true });
});

interface KeyValue {
  key: string;
  value: string;
}

/** The LoggedModel JSON fields these tests read. */
interface LoggedModelJson {
  info: {
    model_id: string;
    name: string;
    status: string;
    artifact_uri: string;
    tags: KeyValue[];
    creation_timestamp_ms: number;
    last_updated_timestamp_ms: number;
  };
  data: { params: KeyValue[] };
}

/** Any answer of these routes: a model, a page of models, or an error. */
interface Answer {
  model: LoggedModelJson;
  models: LoggedModelJson[];
  next_page_token?: string;
  error_code?: string;
  message?: string;
}

/** One call as MLflow's rest_utils sends it: JSON body for every method but GET, the Bearer token of MLFLOW_TRACKING_TOKEN. */
async function mlflow(method: string, path: string, body?: unknown, key = KEY): Promise<{ status: number; json: Answer }> {
  const response = await fetch(`${base}/api/2.0/mlflow/${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Answer };
}

async function ok(method: string, path: string, body?: unknown): Promise<Answer> {
  const { status, json } = await mlflow(method, path, body);
  expect(status, JSON.stringify(json)).toBe(200);
  return json;
}

async function newRun(params: Record<string, string> = {}): Promise<{ experimentId: string; runId: string }> {
  const { experiment } = await tracking.createExperiment(`logged-${randomUUID().slice(0, 8)}`);
  const run = await tracking.createRun({ experimentId: experiment.id, name: 'train' });
  await tracking.logBatch(run.id, { params });
  return { experimentId: experiment.id, runId: run.id };
}

const createBody = (experimentId: string, runId: string, name = 'model') => ({
  experiment_id: experimentId,
  name,
  source_run_id: runId,
  params: [{ key: 'lr', value: '0.1' }],
  tags: [
    { key: 'mlflow.user', value: 'ana' },
    { key: 'mlflow.source.name', value: 'train.py' },
  ],
});

describe('MLflow 3 logged models over the REST API', () => {
  it('serves what mlflow.onnx.log_model sends, in its order: create, outputs, upload, finalize, tag', async () => {
    const { experimentId, runId } = await newRun({ lr: '0.1' });
    const before = Date.now();
    const { model } = await ok('POST', 'logged-models', createBody(experimentId, runId));
    const id: string = model.info.model_id;
    expect(id).toMatch(/^m-[0-9a-f]{32}$/);
    expect(model).toEqual({
      info: {
        model_id: id,
        experiment_id: experimentId,
        name: 'model',
        creation_timestamp_ms: expect.any(Number),
        last_updated_timestamp_ms: expect.any(Number),
        artifact_uri: `mlflow-artifacts:/${experimentId}/models/${id}/artifacts`,
        status: 'LOGGED_MODEL_PENDING',
        source_run_id: runId,
        tags: [
          { key: 'mlflow.source.name', value: 'train.py' },
          { key: 'mlflow.user', value: 'ana' },
        ],
      },
      data: { params: [{ key: 'lr', value: '0.1' }], metrics: [] },
    });
    expect(model.info.creation_timestamp_ms).toBeGreaterThanOrEqual(before);

    expect(await ok('POST', 'runs/outputs', { run_id: runId, models: [{ model_id: id, step: 0 }] })).toEqual({});
    expect(await loggedModels.runModels(runId)).toEqual({ outputs: [{ modelId: id, step: 0 }], inputs: [] });

    // log_model_artifacts: GET the model for its artifact_uri, then PUT each file through the artifact proxy.
    const located = (await ok('GET', `logged-models/${id}`)).model.info.artifact_uri;
    const onnx = binaryClassifierOnnx();
    for (const [file, bytes] of [
      ['MLmodel', new TextEncoder().encode(`artifact_path: ${located}\nflavors:\n  onnx:\n    data: model.onnx\nmodel_id: ${id}\n`)],
      ['model.onnx', onnx],
    ] as const) {
      const put = await fetch(`${base}/api/2.0/mlflow-artifacts/artifacts/${located.replace(/^mlflow-artifacts:\//, '')}/${file}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${KEY}` },
        body: new Uint8Array(bytes),
      });
      expect(put.status, await put.clone().text()).toBe(200);
    }
    expect(Buffer.from(await artifacts.get(`logged-models/${id}/artifacts/model.onnx`)).equals(Buffer.from(onnx))).toBe(true);

    const finalized = await ok('PATCH', `logged-models/${id}`, { model_id: id, status: 'LOGGED_MODEL_READY' });
    expect(finalized.model.info.status).toBe('LOGGED_MODEL_READY');
    expect(finalized.model.info.last_updated_timestamp_ms).toBeGreaterThanOrEqual(model.info.last_updated_timestamp_ms);

    // register_model then records the version on the model as a JSON tag.
    const versions = JSON.stringify([{ name: 'churn', version: '1' }]);
    await ok('PATCH', `logged-models/${id}/tags`, { tags: [{ key: 'mlflow.modelVersions', value: versions }] });
    const read = await ok('GET', `logged-models/${id}`);
    expect(read.model.info.status).toBe('LOGGED_MODEL_READY');
    expect(read.model.info.tags).toContainEqual({ key: 'mlflow.modelVersions', value: versions });
  });

  it('searches as register_model("runs:/<run>/model") does, with filters, ordering and pages', async () => {
    const { experimentId, runId } = await newRun();
    const ids: string[] = [];
    for (const name of ['alpha', 'model', 'beta']) ids.push((await ok('POST', 'logged-models', createBody(experimentId, runId, name))).model.info.model_id);
    const other = await newRun();
    await ok('POST', 'logged-models', createBody(other.experimentId, other.runId, 'model'));

    const all = await ok('POST', 'logged-models/search', { experiment_ids: [experimentId] });
    expect(all.models.map((model) => model.info.name)).toEqual(['beta', 'model', 'alpha']);
    expect(all).not.toHaveProperty('next_page_token');

    const first = await ok('POST', 'logged-models/search', { experiment_ids: [experimentId], max_results: 2 });
    expect(first.models.map((model) => model.info.model_id)).toEqual([ids[2], ids[1]]);
    const second = await ok('POST', 'logged-models/search', { experiment_ids: [experimentId], max_results: 2, page_token: first.next_page_token });
    expect(second.models.map((model) => model.info.model_id)).toEqual([ids[0]]);
    expect(second).not.toHaveProperty('next_page_token');

    const filtered = await ok('POST', 'logged-models/search', {
      experiment_ids: [experimentId, other.experimentId],
      filter: `name = 'model' AND source_run_id = '${runId}' AND tags.\`mlflow.user\` = 'ana'`,
    });
    expect(filtered.models.map((model) => model.info.model_id)).toEqual([ids[1]]);
    const ordered = await ok('POST', 'logged-models/search', { experiment_ids: [experimentId], order_by: [{ field_name: 'name', ascending: true }] });
    expect(ordered.models.map((model) => model.info.name)).toEqual(['alpha', 'beta', 'model']);
  });

  it('adds params, deletes tags (keys with "/" too) and records a run\'s model inputs', async () => {
    const { experimentId, runId } = await newRun();
    const id = (await ok('POST', 'logged-models', createBody(experimentId, runId))).model.info.model_id;
    expect(await ok('POST', `logged-models/${id}/params`, { model_id: id, params: [{ key: 'depth', value: '3' }] })).toEqual({});
    await ok('PATCH', `logged-models/${id}/tags`, { tags: [{ key: 'team/owner', value: 'risk' }] });
    expect(await ok('DELETE', `logged-models/${id}/tags/team/owner`)).toEqual({});
    const read = (await ok('GET', `logged-models/${id}`)).model;
    expect(read.data.params).toEqual([
      { key: 'depth', value: '3' },
      { key: 'lr', value: '0.1' },
    ]);
    expect(read.info.tags.map((tag) => tag.key)).not.toContain('team/owner');
    expect(await ok('POST', 'runs/log-inputs', { run_id: runId, models: [{ model_id: id }] })).toEqual({});
    expect((await loggedModels.runModels(runId)).inputs).toEqual([{ modelId: id }]);
  });

  it("answers errors with the codes MLflow's client branches on", async () => {
    const { experimentId, runId } = await newRun();
    const id = (await ok('POST', 'logged-models', createBody(experimentId, runId))).model.info.model_id;
    const missing = `m-${'0'.repeat(32)}`;
    const cases: [string, string, unknown, number, string, RegExp][] = [
      ['GET', `logged-models/${missing}`, undefined, 404, 'RESOURCE_DOES_NOT_EXIST', /No logged model/],
      ['PATCH', `logged-models/${missing}`, { status: 'LOGGED_MODEL_READY' }, 404, 'RESOURCE_DOES_NOT_EXIST', /No logged model/],
      ['POST', 'logged-models', { experiment_id: 'nope' }, 404, 'RESOURCE_DOES_NOT_EXIST', /No experiment/],
      ['POST', 'logged-models', { name: 'x' }, 400, 'INVALID_PARAMETER_VALUE', /experiment_id/],
      ['POST', 'logged-models', { experiment_id: experimentId, name: 'a/b' }, 400, 'INVALID_PARAMETER_VALUE', /name/],
      ['PATCH', `logged-models/${id}`, { status: 'LOGGED_MODEL_PENDING' }, 400, 'INVALID_PARAMETER_VALUE', /LOGGED_MODEL_READY or/],
      ['PATCH', `logged-models/${id}`, { model_id: missing, status: 2 }, 400, 'INVALID_PARAMETER_VALUE', /same id/],
      ['POST', `logged-models/${id}/params`, { params: [{ key: 'lr', value: '0.5' }] }, 400, 'INVALID_PARAMETER_VALUE', /cannot change/],
      ['DELETE', `logged-models/${id}/tags/absent`, undefined, 404, 'RESOURCE_DOES_NOT_EXIST', /no tag/],
      ['POST', 'logged-models/search', { experiment_ids: [experimentId], filter: 'metrics.auc > 0.9' }, 400, 'INVALID_PARAMETER_VALUE', /not supported/],
      ['POST', 'logged-models/search', { experiment_ids: [experimentId], order_by: [{ field_name: 'metrics.auc' }] }, 400, 'INVALID_PARAMETER_VALUE', /order/],
      ['POST', 'logged-models/search', { experiment_ids: [] }, 400, 'INVALID_PARAMETER_VALUE', /experiment/],
      ['POST', 'runs/outputs', { run_id: 'nope', models: [{ model_id: id, step: 0 }] }, 404, 'RESOURCE_DOES_NOT_EXIST', /No run/],
      ['POST', 'runs/outputs', { run_id: runId, models: [{ model_id: missing, step: 0 }] }, 404, 'RESOURCE_DOES_NOT_EXIST', /No logged model/],
      ['POST', 'runs/log-inputs', { run_id: runId, datasets: [{ dataset: { name: 'd' } }] }, 501, 'NOT_IMPLEMENTED', /not stored/],
    ];
    for (const [method, path, body, status, code, message] of cases) {
      const answer = await mlflow(method, path, body);
      expect([answer.status, answer.json.error_code], `${method} ${path}: ${JSON.stringify(answer.json)}`).toEqual([status, code]);
      expect(answer.json.message).toMatch(message);
    }
    expect((await loggedModels.get(id))?.status).toBe('LOGGED_MODEL_PENDING');
    const unauthenticated = await mlflow('GET', `logged-models/${id}`, undefined, 'wrong-key');
    expect([unauthenticated.status, unauthenticated.json.error_code]).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('accepts int64 steps as strings and a finalize status by number, as proto JSON allows', async () => {
    const { experimentId, runId } = await newRun();
    const id = (await ok('POST', 'logged-models', createBody(experimentId, runId))).model.info.model_id;
    await ok('POST', 'runs/outputs', { run_id: runId, models: [{ model_id: id, step: '12' }] });
    expect((await loggedModels.runModels(runId)).outputs).toEqual([{ modelId: id, step: 12 }]);
    expect((await ok('PATCH', `logged-models/${id}`, { status: 3 })).model.info.status).toBe('LOGGED_MODEL_UPLOAD_FAILED');
  });
});
