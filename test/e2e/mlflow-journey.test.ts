import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Model } from '../../shared/domain/registry.js';
import { hashApiKey } from '../../shared/http/auth.js';
import { logisticRegressionToOnnx } from '../../shared/model-export/onnx-writer.js';
import { mlops } from '../support/cli.js';
import { eventually } from '../support/environment.js';
import { type StartedPlatform, startPlatformProcess } from '../support/local-process.js';
import { mlflowFixture, replay, shapeProblems } from '../support/mlflow-replay.js';
import { FIXTURES } from '../support/paths.js';
import { binaryClassifierOnnx, corruptOnnx } from '../support/models.js';

// The npm package is CommonJS whose types declare an ES default export it does not have at run time.
const require = createRequire(import.meta.url);
const NodeMlflow = require('mlflow') as typeof import('mlflow/lib/mlflow.js').default;
const { RunStatus } = require('mlflow/enum') as typeof import('mlflow/enum.js');

const KEY = 'mlflow-journey-key';
const EXPERIMENT = 'churn-mlflow';
const MODEL = 'churn';
const START = 1_764_700_000_000;

type Tag = { key: string; value: string };
type RunJson = {
  info: { run_id: string; run_name: string; experiment_id: string; status: string; artifact_uri: string; end_time?: number };
  data: { metrics?: { key: string; value: number; step: number }[]; params?: Tag[]; tags?: Tag[] };
  outputs?: { model_outputs?: { model_id: string; step: number }[] };
};
type VersionJson = {
  name: string;
  version: string;
  status: string;
  status_message?: string;
  run_id?: string;
  source: string;
  aliases?: string[];
  model_id?: string;
};
type FileJson = { path: string; is_dir: boolean; file_size?: number };
type LoggedModelJson = { info: { model_id: string; artifact_uri: string; status: string; tags?: Tag[] } };

/** The MLmodel file mlflow.onnx.log_model writes beside model.onnx (MLflow 2.x, onnx and pyfunc flavors). */
function mlmodelFile(runId: string): string {
  return [
    'artifact_path: model',
    'flavors:',
    '  onnx:',
    '    code: null',
    '    data: model.onnx',
    '    onnx_version: 1.12.0',
    '  python_function:',
    '    data: model.onnx',
    '    env:',
    '      conda: conda.yaml',
    '      virtualenv: python_env.yaml',
    '    loader_module: mlflow.onnx',
    '    python_version: 3.11.4',
    'mlflow_version: 2.9.2',
    `run_id: ${runId}`,
    "utc_time_created: '2026-12-02 19:00:00.000000'",
    '',
  ].join('\n');
}

/** Every field path in a JSON value, as the fixtures' rules name them (`run.info.run_id`, `runs[].info`). */
function fieldPaths(value: unknown, path: string): string[] {
  if (Array.isArray(value)) return value.flatMap((item) => fieldPaths(item, `${path}[]`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => {
    const field = path ? `${path}.${key}` : key;
    return [field, ...fieldPaths(child, field)];
  });
}

const tagsOf = (tags: Tag[] | undefined) => Object.fromEntries((tags ?? []).map((tag) => [tag.key, tag.value]));

describe('the MLflow protocol fixtures', () => {
  const names = readdirSync(join(FIXTURES, 'mlflow'))
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.replace(/\.json$/, ''));

  it.each(names)('%s: its example answer has its own shape, and every rule names one of its fields', (name) => {
    const { response } = mlflowFixture(name);
    expect(shapeProblems(response, response.body)).toEqual([]);
    const fields = new Set(fieldPaths(response.body, ''));
    expect([...(response.optional ?? []), ...(response.int64 ?? []), ...(response.fixed ?? [])].filter((path) => !fields.has(path))).toEqual([]);
  });

  it('tells a camelCase field, an int64 sent as a string and a wrong error code apart from a match', () => {
    const { response } = mlflowFixture('runs-update');
    const { end_time: _, ...info } = (response.body as { run_info: Record<string, unknown> }).run_info;
    const problems = shapeProblems(response, { run_info: { ...info, start_time: String(info.start_time), runName: 'x' } });
    expect(problems).toEqual(['run_info.start_time is string "1764700000000", expected number', "run_info.runName is not a field of MLflow's answer"]);
    expect(shapeProblems(mlflowFixture('runs-get-missing').response, { error_code: 'NOT_FOUND', message: 'm' })).toEqual([
      'error_code is "NOT_FOUND", expected "RESOURCE_DOES_NOT_EXIST"',
    ]);
    expect(shapeProblems(mlflowFixture('runs-log-metric').response, {})).toEqual([]);
  });
});

describe('the MLflow client journey, replayed call by call against npm start', () => {
  let platform: StartedPlatform;
  let base: string;
  const auth = { authorization: `Bearer ${KEY}` };
  const send = <T = Record<string, unknown>>(
    name: string,
    vars: Record<string, string | number> = {},
    raw?: { bytes: Uint8Array | string; contentType: string },
  ) => replay<T>(name, { baseUrl: base, vars, headers: auth, raw });
  const journey = { experimentId: '', runId: '', artifactUri: '', version: '', loggedModelRunId: '', loggedModelId: '' };
  const classifier = binaryClassifierOnnx();
  const notes = 'trained on 2026-01 data\n';
  const requirements = 'mlflow==2.9.2\nonnx==1.12.0\n';

  /** Uploads files as HttpArtifactRepository.log_artifact does: one PUT each under the artifact URI. */
  const upload = async (artifactUri: string, files: Record<string, Uint8Array | string>) => {
    const root = artifactUri.replace(/^mlflow-artifacts:\//, '');
    for (const [path, bytes] of Object.entries(files)) {
      const contentType = path.endsWith('.txt') ? 'text/plain' : 'application/octet-stream';
      await send('artifacts-put', { artifact_path: `${root}/${path}` }, { bytes, contentType });
    }
  };
  /** Polls model-versions/get while the version is PENDING_REGISTRATION, as the client's _await_model_version_creation does. */
  const settled = (version: VersionJson) =>
    eventually(
      async () => {
        const { body } = await send<{ model_version: VersionJson }>('model-versions-get', { model_name: version.name, version: version.version });
        return body.model_version.status === 'PENDING_REGISTRATION' ? undefined : body.model_version;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: `version ${version.version} of ${version.name} to leave PENDING_REGISTRATION` },
    );
  const startRun = async (name: string) =>
    (await send<{ run: RunJson }>('runs-create', { experiment_id: journey.experimentId, start_time: Date.now(), run_name: name })).body.run;
  const servedModel = async () => JSON.parse((await mlops('models', 'show', MODEL, '--json')).stdout).model as Model;

  beforeAll(async () => {
    const previousHashes = process.env.MLOPS_API_KEY_HASHES;
    process.env.MLOPS_API_KEY_HASHES = hashApiKey(KEY);
    try {
      platform = await startPlatformProcess({ fresh: true });
    } finally {
      if (previousHashes === undefined) delete process.env.MLOPS_API_KEY_HASHES;
      else process.env.MLOPS_API_KEY_HASHES = previousHashes;
    }
    Object.assign(process.env, platform.env, {
      MLOPS_DATA_DIR: platform.dataDir,
      METADATA_SERVER_DETECTION: 'none',
      MLOPS_ACTOR: 'alice@test',
      MLOPS_API_KEY: KEY,
    });
    const { functions } = JSON.parse(readFileSync(join(platform.dataDir, 'endpoints.json'), 'utf8')) as { functions: Record<string, string> };
    base = functions.tracking!;
    // What a user copies from `npm start`'s output into their training shell.
    expect(platform.output()).toContain(`MLflow clients: export MLFLOW_TRACKING_URI=${base}`);
  }, 90_000);

  afterAll(async () => {
    await platform?.stop('SIGTERM');
  });

  it('set_experiment: get-by-name misses, then experiments/create and experiments/get', async () => {
    await send('experiments-get-by-name-missing', { experiment_name: EXPERIMENT });
    const created = await send<{ experiment_id: string }>('experiments-create', { experiment_name: EXPERIMENT });
    journey.experimentId = created.body.experiment_id;
    const { body } = await send<{ experiment: { name: string; lifecycle_stage: string } }>('experiments-get', { experiment_id: journey.experimentId });
    expect(body.experiment).toMatchObject({ name: EXPERIMENT, lifecycle_stage: 'active' });
    const found = await send<{ experiment: { experiment_id: string } }>('experiments-get-by-name', { experiment_name: EXPERIMENT });
    expect(found.body.experiment.experiment_id).toBe(journey.experimentId);
  });

  it('start_run: runs/create answers a RUNNING run whose artifact_uri is the proxy', async () => {
    const run = await startRun('baseline');
    journey.runId = run.info.run_id;
    journey.artifactUri = run.info.artifact_uri;
    expect(run.info).toMatchObject({ run_name: 'baseline', experiment_id: journey.experimentId, status: 'RUNNING' });
    expect(journey.artifactUri).toBe(`mlflow-artifacts:/${journey.experimentId}/${journey.runId}/artifacts`);
    expect(tagsOf(run.data.tags)).toMatchObject({ 'mlflow.user': 'alice', 'mlflow.runName': 'baseline', 'mlflow.source.type': 'LOCAL' });
  });

  it('log_param, log_metric with steps and log_batch read back through runs/get and metrics/get-history', async () => {
    const run = { run_id: journey.runId };
    await send('runs-log-parameter', { ...run, key: 'lr', value: '0.1' });
    await send('runs-log-parameter', { ...run, key: 'lr', value: '0.1' });
    await send('runs-log-parameter-conflict', { ...run, key: 'lr', value: '0.2' });
    for (let step = 0; step < 5; step++) await send('runs-log-metric', { ...run, key: 'loss', value: 1 / (step + 1), timestamp: START + step, step });
    await send('runs-log-batch', { ...run, timestamp: START + 10 });

    const { body } = await send<{ run: RunJson }>('runs-get', run);
    expect(tagsOf(body.run.data.params)).toEqual({ lr: '0.1', epochs: '3', optimizer: 'adam' });
    expect(tagsOf(body.run.data.tags)).toMatchObject({ team: 'risk' });
    const latest = Object.fromEntries((body.run.data.metrics ?? []).map((metric) => [metric.key, [metric.value, metric.step]]));
    expect(latest).toEqual({ loss: [0.2, 4], auc: [0.93, 1] });
    const history = await send<{ metrics: { value: number; step: number; timestamp: number }[] }>('metrics-get-history', { ...run, key: 'loss' });
    expect(history.body.metrics.map((point) => [point.step, point.value, point.timestamp])).toEqual(
      [0, 1, 2, 3, 4].map((step) => [step, 1 / (step + 1), START + step]),
    );
  });

  it('log_artifact and an MLflow model folder go up through the proxy and come back byte for byte', async () => {
    const { body } = await send<{ run: RunJson }>('runs-get', { run_id: journey.runId });
    expect(body.run.info.artifact_uri).toBe(journey.artifactUri);
    await upload(journey.artifactUri, {
      'reports/notes.txt': notes,
      'model/MLmodel': mlmodelFile(journey.runId),
      'model/model.onnx': classifier,
      'model/requirements.txt': requirements,
    });
    const root = `${journey.experimentId}/${journey.runId}/artifacts`;
    const top = await send<{ files: FileJson[] }>('artifacts-list', { artifact_path: root });
    expect(top.body.files).toEqual([
      { path: 'model', is_dir: true },
      { path: 'reports', is_dir: true },
    ]);
    const folder = await send<{ files: FileJson[] }>('artifacts-list', { artifact_path: `${root}/model` });
    expect(folder.body.files.map((file) => [file.path, file.is_dir, file.file_size])).toEqual([
      ['MLmodel', false, Buffer.byteLength(mlmodelFile(journey.runId))],
      ['model.onnx', false, classifier.length],
      ['requirements.txt', false, requirements.length],
    ]);
    expect(Buffer.from((await send('artifacts-get', { artifact_path: `${root}/reports/notes.txt` })).bytes).toString()).toBe(notes);
    expect((await send('artifacts-get', { artifact_path: `${root}/model/model.onnx` })).bytes).toEqual(classifier);
    // The client tries a multipart upload first only when asked to; a 501 with MLflow's own message makes it fall back to one PUT.
    const multipart = await send<{ message: string }>('artifacts-mpu-create', { artifact_path: `${root}/big.bin`, file_name: 'big.bin' });
    expect(multipart.body.message).toMatch(/^Multipart upload is not supported for the current artifact repository/);
  });

  it('end_run: runs/update sets FINISHED and the end time', async () => {
    const end = Date.now();
    const { body } = await send<{ run_info: RunJson['info'] }>('runs-update', { run_id: journey.runId, end_time: end });
    expect(body.run_info).toMatchObject({ run_id: journey.runId, status: 'FINISHED', end_time: end });
  });

  it('register_model("runs:/<run>/model"): the ONNX file becomes a READY version of our registry', async () => {
    await send('registered-models-create', { model_name: MODEL });
    await send('registered-models-create-exists', { model_name: MODEL });
    // 3.x lists the run folder first: files there make the source the folder's own URI.
    const listed = await send<{ files: FileJson[] }>('artifacts-list', { artifact_path: `${journey.experimentId}/${journey.runId}/artifacts/model` });
    expect(listed.body.files.length).toBeGreaterThan(0);
    const source = `${journey.artifactUri}/model`;
    const created = await send<{ model_version: VersionJson }>('model-versions-create', { model_name: MODEL, source, run_id: journey.runId });
    const version = await settled(created.body.model_version);
    expect(version).toMatchObject({ name: MODEL, version: '1', status: 'READY', run_id: journey.runId, source });
    journey.version = version.version;
    const search = await send<{ model_versions: VersionJson[] }>('model-versions-search', { filter: `run_id = '${journey.runId}'` });
    expect(search.body.model_versions.map((found) => [found.name, found.version])).toEqual([[MODEL, '1']]);
  }, 90_000);

  it('set_registered_model_alias("production"): the platform then serves that version', async () => {
    await send('registered-models-alias-set', { model_name: MODEL, alias: 'production', version: journey.version });
    const serving = await eventually(async () => ((await servedModel()).serving?.version === 1 ? (await servedModel()).serving : undefined), {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'version 1 of churn serving',
    });
    const response = await fetch(`${serving!.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ instances: [[1, 2, 3, 4]] }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ model: MODEL, version: 1, predictions: [expect.anything()] });
  }, 90_000);

  it('models:/churn@production resolves: alias, get-download-uri, and the files listed and fetched from there', async () => {
    const { body } = await send<{ model_version: VersionJson }>('registered-models-alias-get', { model_name: MODEL, alias: 'production' });
    expect(body.model_version).toMatchObject({ version: journey.version, aliases: ['production'] });
    const model = await send<{ registered_model: { aliases?: { alias: string; version: string }[] } }>('registered-models-get', { model_name: MODEL });
    expect(model.body.registered_model.aliases).toEqual([{ alias: 'production', version: journey.version }]);
    const download = await send<{ artifact_uri: string }>('model-versions-get-download-uri', { model_name: MODEL, version: journey.version });
    expect(download.body.artifact_uri).toBe(`${journey.artifactUri}/model`);
    const folder = download.body.artifact_uri.replace(/^mlflow-artifacts:\//, '');
    const files = await send<{ files: FileJson[] }>('artifacts-list', { artifact_path: folder });
    expect(files.body.files.map((file) => file.path)).toContain('model.onnx');
    expect((await send('artifacts-get', { artifact_path: `${folder}/model.onnx` })).bytes).toEqual(classifier);
  });

  it('mlops runs list shows the MLflow-logged run, and mlops models show it as the lineage of the version', async () => {
    const listed = await mlops('runs', 'list', '--experiment', EXPERIMENT);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect(listed.stdout).toMatch(new RegExp(`^${journey.runId}\\s+${EXPERIMENT}\\s+baseline\\s+FINISHED`, 'm'));
    const shown = JSON.parse((await mlops('models', 'show', MODEL, '--json')).stdout) as { runs: { id: string }[] };
    expect(shown.runs.map((run) => run.id)).toContain(journey.runId);
  });

  it('a run whose model file is not ONNX registers as FAILED_REGISTRATION with the reason', async () => {
    const run = await startRun('broken');
    await upload(run.info.artifact_uri, { 'model/MLmodel': mlmodelFile(run.info.run_id), 'model/model.onnx': corruptOnnx() });
    const created = await send<{ model_version: VersionJson }>('model-versions-create', {
      model_name: MODEL,
      source: `runs:/${run.info.run_id}/model`,
      run_id: run.info.run_id,
    });
    const version = created.body.model_version.status === 'PENDING_REGISTRATION' ? await settled(created.body.model_version) : created.body.model_version;
    expect(version.status).toBe('FAILED_REGISTRATION');
    expect(version.status_message).toMatch(/not a valid ONNX model/);
  }, 90_000);

  it('answers errors as MLflow does: unknown run 404, no key 401, unknown route 404, unset alias 404', async () => {
    await send('runs-get-missing', { run_id: 'no-such-run' });
    await replay('runs-get-unauthenticated', { baseUrl: base, vars: { run_id: journey.runId } });
    await replay('runs-get-unauthenticated', { baseUrl: base, vars: { run_id: journey.runId }, headers: { authorization: 'Bearer wrong-key' } });
    await send('endpoint-not-found');
    await send('registered-models-alias-get-missing', { model_name: MODEL, alias: 'staging' });
  });

  it('MLflow 3 logged models: create, record as run output, upload, finalize, register models:/<id>', async () => {
    const run = await startRun('logged-model');
    const created = await send<{ model: LoggedModelJson }>('logged-models-create', { experiment_id: journey.experimentId, run_id: run.info.run_id });
    const modelId = created.body.model.info.model_id;
    Object.assign(journey, { loggedModelRunId: run.info.run_id, loggedModelId: modelId });
    expect(modelId).toMatch(/^m-[0-9a-f]{32}$/);
    expect(created.body.model.info.artifact_uri).toBe(`mlflow-artifacts:/${journey.experimentId}/models/${modelId}/artifacts`);
    await send('runs-outputs', { run_id: run.info.run_id, model_id: modelId });
    await send('runs-log-batch-model-metrics', { run_id: run.info.run_id, model_id: modelId, timestamp: Date.now() });
    const fetched = await send<{ model: LoggedModelJson }>('logged-models-get', { model_id: modelId });
    const second = logisticRegressionToOnnx({ weights: [0.4, -0.1, 0.2, 0.9], intercept: 0.1, featureNames: ['f0', 'f1', 'f2', 'f3'] });
    await upload(fetched.body.model.info.artifact_uri, { MLmodel: mlmodelFile(run.info.run_id), 'model.onnx': second });
    await send('logged-models-finalize', { model_id: modelId });
    await send('runs-update', { run_id: run.info.run_id, end_time: Date.now() });

    const version = await send<{ model_version: VersionJson }>('model-versions-create-from-logged-model', { model_name: MODEL, model_id: modelId });
    expect(await settled(version.body.model_version)).toMatchObject({ version: '2', status: 'READY', model_id: modelId, run_id: run.info.run_id });
    const registrations = JSON.stringify([{ name: MODEL, version: '2' }]);
    await send('logged-models-set-tags', { model_id: modelId, model_versions: registrations });
    const tagged = await send<{ model: LoggedModelJson }>('logged-models-get', { model_id: modelId });
    expect(tagsOf(tagged.body.model.info.tags)['mlflow.modelVersions']).toBe(registrations);
    const search = await send<{ models: LoggedModelJson[] }>('logged-models-search', { experiment_id: journey.experimentId });
    expect(search.body.models.map((model) => model.info.model_id)).toContain(modelId);

    // load_model("models:/churn/2"): a models:/<id> download URI resolves through the logged model, as the 3.x client does.
    const download = (await send<{ artifact_uri: string }>('model-versions-get-download-uri', { model_name: MODEL, version: '2' })).body.artifact_uri;
    const location = download.startsWith('models:/')
      ? (await send<{ model: LoggedModelJson }>('logged-models-get', { model_id: modelId })).body.model.info.artifact_uri
      : download;
    expect(location).toBe(created.body.model.info.artifact_uri);
    expect((await send('artifacts-get', { artifact_path: `${location.replace(/^mlflow-artifacts:\//, '')}/model.onnx` })).bytes).toEqual(second);
  }, 90_000);

  it('runs/get lists the logged model among the run outputs, as register_model of runs:/ without a run folder needs', async () => {
    const { body } = await send<{ run: RunJson }>('runs-get', { run_id: journey.loggedModelRunId });
    expect(body.run.outputs?.model_outputs).toEqual([{ model_id: journey.loggedModelId, step: 0 }]);
  });

  it('finds the journey run with search_runs', async () => {
    const { body } = await send<{ runs: RunJson[] }>('runs-search', { experiment_id: journey.experimentId, filter: "params.lr = '0.1'" });
    expect(body.runs.map((run) => run.info.run_id)).toEqual([journey.runId]);
  });

  it('the npm mlflow client works as a second client for experiments, runs, params, metrics, tags and search', async () => {
    // The package prints every request body it sends.
    const quiet = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const client = new NodeMlflow({ endpoint: base, headers: auth });
      // Its types make artifact_location required; MLflow's proto does not, and the server then picks the location.
      const { experiment_id } = await client.Experiments.create({ name: 'from-node' } as { name: string; artifact_location: string });
      expect((await client.Experiments.get({ experiment_id })).experiment).toMatchObject({ name: 'from-node' });
      const { run } = await client.Runs.create({ experiment_id, user_id: 'bob', start_time: START, tags: [{ key: 'via', value: 'npm' }] });
      const run_id = run.info.run_id;
      await client.Runs.logParameter({ run_id, key: 'depth', value: '4' });
      for (let step = 0; step < 3; step++) await client.Runs.logMetric({ run_id, key: 'rmse', value: 3 - step, timestamp: START + step, step });
      await client.Runs.logBatch({ run_id, metrics: [], params: [{ key: 'seed', value: '7' }], tags: [{ key: 'stage', value: 'tuning' }] });
      await client.Runs.setTag({ run_id, key: 'temporary', value: 'yes' });
      await client.Runs.deleteTag({ run_id, key: 'temporary' });
      await client.Runs.update({ run_id, status: RunStatus.FINISHED, end_time: START + 10 });
      const fetched = (await client.Runs.get({ run_id })).run;
      expect(fetched.info).toMatchObject({ status: 'FINISHED', user_id: 'bob', end_time: START + 10 });
      expect(tagsOf(fetched.data.params)).toEqual({ depth: '4', seed: '7' });
      expect(tagsOf(fetched.data.tags)).toMatchObject({ via: 'npm', stage: 'tuning' });
      expect(tagsOf(fetched.data.tags)).not.toHaveProperty('temporary');
      const history = await client.Metrics.getHistory({ run_id, metric_key: 'rmse' });
      expect(history.metrics.map((point) => [point.step, point.value])).toEqual([
        [0, 3],
        [1, 2],
        [2, 1],
      ]);
      const found = await client.Runs.search({ experiment_ids: [experiment_id], filter: 'metrics.rmse < 2' });
      expect(found.runs.map((one) => one.info.run_id)).toEqual([run_id]);
      // experiments/list left MLflow's API in 2.0 (experiments/search replaced it): the package still calls it.
      await expect(client.Experiments.list()).rejects.toThrow(/ENDPOINT_NOT_FOUND/);
    } finally {
      quiet.mockRestore();
    }
  });
});
