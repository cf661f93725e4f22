import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServingApp } from '../../functions/serve/app.js';
import { BACKGROUND_TTL_MS, ExplainRoute } from '../../functions/serve/explain-route.js';
import { DuckDbWarehouse } from '../../shared/adapters/duckdb/duckdb-warehouse.js';
import { FirestoreModelRegistry } from '../../shared/adapters/firestore/index.js';
import { LocalBucketArtifactStore } from '../../shared/adapters/local-bucket/index.js';
import { planInputs } from '../../shared/domain/serving/input-plan.js';
import type { ModelVersion } from '../../shared/domain/registry.js';
import { TABLES } from '../../shared/domain/tables.js';
import { hashApiKey } from '../../shared/http/auth.js';
import type { LoadedModel } from '../../shared/ports/model-runner.port.js';
import type { Explanation } from '../../shared/services/explainer.js';
import { backgroundObject, writeBackground } from '../../shared/services/explanation-background.js';
import { referenceOf } from '../../shared/services/version-drift.js';
import { mlops } from '../support/cli.js';
import { useEmulators } from '../support/environment.js';
import { listen, versionOf } from '../support/serving.js';

const { projectId } = useEmulators();
const FIXTURES = join(import.meta.dirname, '../fixtures/models');
const FEATURES = ['f0', 'f1', 'f2', 'f3'];
const logit = (p: number) => Math.log(p / (1 - p));
const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

/** Background rows of the reference dataset: a small grid around the fixtures' rows, as offline_features holds them. */
const REFERENCE = Array.from({ length: 40 }, (_, index) => ({
  f0: -1.5 + (index % 8) * 0.4,
  f1: -1 + (index % 5) * 0.5,
  f2: -0.5 + (index % 4) * 0.6,
  f3: 1 - (index % 7) * 0.3,
}));
const INSTANCE = [1.14, 0.08, 1.75, 0.58];

type Served = { version: ModelVersion; loaded: LoadedModel; bytes: Uint8Array };
const fixture = async (file: string, model: string): Promise<Served> => {
  const bytes = new Uint8Array(await readFile(join(FIXTURES, file)));
  const served = await versionOf(model, 1, bytes);
  return { ...served, version: { ...served.version, lineage: { sourceUri: 'test', datasetId: 'reference' } }, bytes };
};

// Real ONNX fixtures on a real HTTP server; the stored background written from a DuckDB reference into a local bucket.
describe('POST /explain and the Open Inference explain routes', () => {
  let folder: string;
  let warehouse: DuckDbWarehouse;
  let artifacts: LocalBucketArtifactStore;
  let linear: Served;
  let forest: Served;
  let linearServer: { url: string; close(): Promise<void> };
  let forestServer: { url: string; close(): Promise<void> };
  let securedServer: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'serving-explain-'));
    warehouse = new DuckDbWarehouse({ path: join(folder, 'warehouse.duckdb'), dataset: 'mlops' });
    await warehouse.ensureTables(TABLES);
    await warehouse.insert(
      'offline_features',
      REFERENCE.map((features, index) => ({
        dataset_id: 'reference',
        entity_id: `e${index}`,
        event_time: '2026-01-01T00:00:00.000Z',
        features,
        loaded_at: '2026-01-01T00:00:00.000Z',
      })),
    );
    artifacts = new LocalBucketArtifactStore({ root: join(folder, 'bucket'), bucket: 'artifacts' });
    linear = await fixture('skl2onnx-logreg-binary.onnx', `explain-${randomUUID().slice(0, 6)}`);
    forest = await fixture('skl2onnx-random-forest.onnx', 'forest');
    linearServer = await listen(createServingApp({ ...linear, artifacts }));
    forestServer = await listen(createServingApp({ ...forest, artifacts }));
    securedServer = await listen(createServingApp({ ...linear, artifacts, apiKeyHashes: [hashApiKey('key-1')] }));
  }, 60_000);

  afterAll(async () => {
    await Promise.all([linearServer?.close(), forestServer?.close(), securedServer?.close()]);
    await warehouse?.close();
    await rm(folder, { recursive: true, force: true });
  });

  const post = (base: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const positive = async (base: string, rows: number[][]) => {
    const answer = (await (await post(base, '/predict', { instances: rows })).json()) as { predictions: { output_probability: Record<string, number> }[] };
    return answer.predictions.map((prediction) => prediction.output_probability['1']!);
  };
  const storeBackground = async (served: Served) => {
    const window = { model: served.version.model, version: 1, start: new Date('2026-01-01T00:00:00Z'), end: new Date('2026-01-02T00:00:00Z') };
    return writeBackground(warehouse, artifacts, served.version, await referenceOf(warehouse, served.version, window));
  };

  it('answers 409 EXPLAIN.NO_BACKGROUND, saying what to run, before any background is stored or sent', async () => {
    const response = await post(linearServer.url, '/explain', { instances: [INSTANCE] });
    expect(response.status).toBe(409);
    const body = (await response.json()) as { code: string; error: string };
    expect(body.code).toBe('EXPLAIN.NO_BACKGROUND');
    expect(body.error).toContain(`run "mlops drift run --model ${linear.version.model}"`);
    expect(body.error).toContain('send "background"');
  });

  it('explains a linear model exactly: the logit of the positive class, each attribution what moving that feature from the mean does', async () => {
    expect((await storeBackground(linear))?.written).toBe(true);
    const response = await post(linearServer.url, '/explain', { instances: [INSTANCE] });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { model: string; version: number; explanations: Explanation[]; background: unknown };
    expect(answer).toMatchObject({ model: linear.version.model, version: 1, background: { source: 'reference', rows: REFERENCE.length } });
    const [explanation] = answer.explanations;
    expect(explanation).toMatchObject({ method: 'linear', scale: 'logit' });
    expect(explanation?.output).toMatch(/\.1$/);
    expect(Object.keys(explanation!.attributions)).toEqual(FEATURES);
    expect(Math.abs(sum(Object.values(explanation!.attributions)) - (explanation!.prediction - explanation!.baseline))).toBeLessThan(1e-9);
    // Through the served model: the instance, the background mean, and the mean with one feature set to the instance's value.
    const mean = FEATURES.map((feature) => sum(REFERENCE.map((row) => row[feature as keyof (typeof REFERENCE)[number]])) / REFERENCE.length);
    const moved = FEATURES.map((_, column) => mean.map((value, other) => (other === column ? INSTANCE[column]! : value)));
    const [instance, atMean, ...oneMoved] = (await positive(linearServer.url, [INSTANCE, mean, ...moved])).map(logit);
    expect(explanation!.prediction).toBeCloseTo(instance!, 5);
    expect(explanation!.baseline).toBeCloseTo(atMean!, 5);
    for (const [column, feature] of FEATURES.entries()) expect(explanation!.attributions[feature]).toBeCloseTo(oneMoved[column]! - atMean!, 5);
  });

  it('explains a random forest by sampling, with the permutations and an error bound per feature, against a background sent with the request', async () => {
    const response = await post(forestServer.url, '/explain', {
      instances: [{ X: INSTANCE }, { X: [0.15, 0.01, -0.71, -0.24] }],
      samples: 16,
      background: REFERENCE,
    });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { explanations: Explanation[]; background: unknown };
    expect(answer.background).toEqual({ source: 'request', rows: REFERENCE.length });
    const probabilities = await positive(forestServer.url, [INSTANCE, [0.15, 0.01, -0.71, -0.24]]);
    answer.explanations.forEach((explanation, index) => {
      expect(explanation).toMatchObject({ method: 'sampled_shapley', scale: 'probability', samples: 16 });
      expect(explanation.prediction).toBeCloseTo(probabilities[index]!, 6);
      expect(Object.keys(explanation.errorBound ?? {})).toEqual(FEATURES);
      expect(Math.abs(sum(Object.values(explanation.attributions)) - (explanation.prediction - explanation.baseline))).toBeLessThan(1e-6);
    });
  });

  it('answers the Open Inference explain routes with the same explanations as /explain', async () => {
    const model = linear.version.model;
    const body = { inputs: [{ name: 'X', shape: [1, 4], datatype: 'FP32', data: INSTANCE }], parameters: { target: '1' } };
    const [plain, v2, versioned] = await Promise.all([
      post(linearServer.url, '/explain', { instances: [INSTANCE], target: '1' }).then((response) => response.json() as Promise<{ explanations: unknown[] }>),
      post(linearServer.url, `/v2/models/${model}/explain`, body).then((response) => response.json() as Promise<Record<string, unknown>>),
      post(linearServer.url, `/v2/models/${model}/versions/1/explain`, body).then((response) => response.json() as Promise<Record<string, unknown>>),
    ]);
    expect(v2).toMatchObject({ model_name: model, model_version: '1', explanations: plain.explanations });
    expect(versioned.explanations).toEqual(plain.explanations);
    const other = await post(linearServer.url, `/v2/models/${model}/versions/7/explain`, body);
    expect(other.status).toBe(404);
    expect(((await other.json()) as { code: string }).code).toBe('REGISTRY.VERSION_NOT_FOUND');
  });

  it('refuses every bad request with a 4xx naming the fault', async () => {
    const cases: [unknown, number, string][] = [
      [[INSTANCE], 400, 'must be a JSON object like {"instances": [...]}'],
      [{ instance: [INSTANCE] }, 400, 'Unknown field(s) "instance"'],
      [{ instances: [] }, 400, '"instances" must be a non-empty array'],
      [{ instances: Array.from({ length: 101 }, () => INSTANCE) }, 400, 'at most 100 are explained per request'],
      [{ instances: [INSTANCE], samples: 0 }, 400, '"samples" must be an integer from 1 to 1000'],
      [{ instances: [INSTANCE], target: 3 }, 400, '"target" must be the name of a class'],
      [{ instances: [INSTANCE], background: {} }, 400, '"background" must be an array of 1 to 1000 feature objects'],
      [{ instances: [INSTANCE], background: [[1, 2, 3, 4]] }, 400, '"background"[0] must be an object'],
      [{ instances: [[1, 2, 3]] }, 400, 'instances[0] has 3 values but the model takes 4'],
    ];
    for (const [body, status, message] of cases) {
      const response = await post(linearServer.url, '/explain', body);
      const answer = (await response.json()) as { error: string };
      expect({ body, status: response.status, error: answer.error }).toEqual({ body, status, error: expect.stringContaining(message) });
    }
    const v2 = await post(linearServer.url, `/v2/models/${linear.version.model}/explain`, {
      inputs: [{ name: 'X', shape: [1, 4], datatype: 'FP32', data: INSTANCE }],
      parameters: { samples: 'many' },
    });
    expect(v2.status).toBe(400);
    expect(((await v2.json()) as { error: string }).error).toContain('"parameters.samples" must be an integer');
    expect((await fetch(`${linearServer.url}/explain`)).status).toBe(405);
  });

  it('takes API keys as /predict does', async () => {
    expect((await post(securedServer.url, '/explain', { instances: [INSTANCE] })).status).toBe(401);
    expect((await post(securedServer.url, '/explain', { instances: [INSTANCE] }, { authorization: 'Bearer key-1' })).status).toBe(200);
  });

  it('does not count or log explanations as predictions', async () => {
    const predicted = async () =>
      Number(/^mlops_instances_predicted_total (\d+)$/m.exec(await (await fetch(`${linearServer.url}/metrics`)).text())?.[1] ?? Number.NaN);
    const before = await predicted();
    expect(before).not.toBeNaN();
    expect((await post(linearServer.url, '/explain', { instances: [INSTANCE, INSTANCE] })).status).toBe(200);
    expect(await predicted()).toBe(before);
  });

  it('reuses the stored background for a minute, and reads it again after', async () => {
    let now = 0;
    const route = new ExplainRoute({
      ...linear,
      modelBytes: linear.bytes,
      plan: planInputs(linear.loaded.signature, linear.loaded.metadata),
      artifacts,
      maxBatch: 1000,
      now: () => now,
    });
    const rows = async () => (await route.explain({ instances: [INSTANCE] })).background.rows;
    expect(await rows()).toBe(REFERENCE.length);
    const object = backgroundObject(linear.version.model, 1);
    const stored = JSON.parse(new TextDecoder().decode(await artifacts.get(object))) as { rows: unknown[] };
    await artifacts.put(object, new TextEncoder().encode(JSON.stringify({ ...stored, rows: stored.rows.slice(0, 5) })));
    now = BACKGROUND_TTL_MS - 1;
    expect(await rows()).toBe(REFERENCE.length);
    now = BACKGROUND_TTL_MS;
    expect(await rows()).toBe(5);
  });

  it('mlops explain prints a table per instance sorted by |attribution|, and --json the answer', async () => {
    const registry = new FirestoreModelRegistry({ projectId });
    const model = linear.version.model;
    const { version } = await registry.registerVersion({
      model,
      registrationKey: `artifacts/models/${model}/model.onnx#1`,
      actor: 'tester',
      artifactUri: `gs://artifacts/models/${model}/model.onnx`,
      generation: '1',
      sha256: linear.version.sha256,
      sizeBytes: linear.bytes.byteLength,
      signature: linear.loaded.signature,
      metrics: {},
      params: {},
      tags: {},
      description: '',
      lineage: { sourceUri: 'test' },
    });
    await registry.recordServing(model, { url: linearServer.url, version: version.version, revision: 'r1', deployedAt: new Date().toISOString() });
    const file = join(folder, 'instances.jsonl');
    await writeFile(file, `${JSON.stringify(INSTANCE)}\n\n${JSON.stringify([0.38, -1.37, 1.74, 0.59])}\n`);
    const saved = process.env.MLOPS_DATA_DIR;
    process.env.MLOPS_DATA_DIR = folder;
    try {
      const result = await mlops('explain', model, '--instances', file);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(`${model} v1: background of ${REFERENCE.length} rows (reference)\n`);
      expect(result.stdout).toMatch(
        /\ninstance 1: \S+\.1 \(logit\) prediction -?\d\.\d{4}, baseline -?\d\.\d{4}; exact \(linear\)\nFEATURE +VALUE +ATTRIBUTION +BOUND\n/,
      );
      expect(result.stdout).toContain('\ninstance 2: ');
      const json = JSON.parse((await mlops('explain', model, '--instances', file, '--json')).stdout) as { explanations: Explanation[] };
      expect(json.explanations).toHaveLength(2);
      const first = json.explanations[0]!;
      const order = Object.entries(first.attributions).sort(([, a], [, b]) => Math.abs(b) - Math.abs(a));
      const printed = result.stdout
        .split('\n')
        .slice(4, 8)
        .map((line) => line.split(/ +/));
      expect(printed.map((cells) => cells[0])).toEqual(order.map(([feature]) => feature));
      expect(printed.map((cells) => cells[1])).toEqual(order.map(([feature]) => String(INSTANCE[FEATURES.indexOf(feature)])));
      const missing = await mlops('explain', model);
      expect({ code: missing.code, stderr: missing.stderr }).toEqual({ code: 2, stderr: expect.stringContaining('Missing --instances <file.jsonl>') });
      await writeFile(file, '[1, 2\n');
      const broken = await mlops('explain', model, '--instances', file);
      expect({ code: broken.code, stderr: broken.stderr }).toEqual({ code: 2, stderr: expect.stringContaining('line 1 is not JSON') });
    } finally {
      if (saved === undefined) delete process.env.MLOPS_DATA_DIR;
      else process.env.MLOPS_DATA_DIR = saved;
    }
  });
});
