import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbWarehouse } from '../../shared/adapters/duckdb/duckdb-warehouse.js';
import { LocalBucketArtifactStore } from '../../shared/adapters/local-bucket/local-bucket-artifact-store.js';
import { OnnxModelRunner } from '../../shared/adapters/onnx/onnx-model-runner.js';
import type { PredictionWindow } from '../../shared/domain/drift/drift-queries.js';
import { attributionSettingsFromTags } from '../../shared/domain/explain/attribution-drift.js';
import type { ModelVersion } from '../../shared/domain/registry.js';
import { TABLES } from '../../shared/domain/tables.js';
import type { Row } from '../../shared/ports/warehouse.port.js';
import { loadMonitoredModel, measureAttributionDrift } from '../../shared/services/attribution-drift.js';
import { backgroundObject, readBackground } from '../../shared/services/explanation-background.js';
import { createExplainer, type Explainer } from '../../shared/services/explainer.js';
import { referenceOf } from '../../shared/services/version-drift.js';
import { seeded } from '../support/drift-scenario.js';
import { FIXTURES } from '../support/paths.js';

interface LinearScenario {
  features: string[];
  shifted: string;
  reference_rows: number[][];
  window_rows: number[][];
  reference_importance: number[];
  current_importance: number[];
  reference_share: number[];
  current_share: number[];
  drift: number[];
  ndcg: number;
}
const fixture = JSON.parse(await readFile(join(FIXTURES, 'attribution-reference.json'), 'utf8')) as { linear: LinearScenario };
const scenario = fixture.linear;

const HOUR = 3_600_000;
const T0 = new Date('2026-05-01T00:00:00Z');
const computedAt = '2026-05-02T00:00:00.000Z';
const BUCKET = 'mlops-artifacts';
const featuresOf = (values: number[]) => Object.fromEntries(scenario.features.map((name, index) => [name, values[index]]));

function datasetRows(dataset: string, rows: number[][]): Row[] {
  return rows.map((values, index) => ({
    dataset_id: dataset,
    entity_id: `e${index}`,
    event_time: T0.toISOString(),
    features: featuresOf(values),
    loaded_at: T0.toISOString(),
  }));
}

/** Predictions spread over the hour after `from` (T0 by default). */
function predictionRows(model: string, version: number, features: Record<string, unknown>[], from = T0): Row[] {
  return features.map((doc, index) => ({
    prediction_id: `${model}-${version}-${index}`,
    model,
    version,
    request_time: new Date(from.getTime() + ((index + 0.5) * HOUR) / features.length).toISOString(),
    features: doc,
    outputs: { output_label: 0 },
    source: 'online',
  }));
}

describe('attribution drift over DuckDB with real fixture models', () => {
  let folder: string;
  let warehouse: DuckDbWarehouse;
  let artifacts: LocalBucketArtifactStore;
  const runner = new OnnxModelRunner();

  /** Uploads a fixture model, loads it the way the monitoring job does, and builds its explainer. */
  async function monitored(model: string, version: number, file: string, datasetId?: string): Promise<{ version: ModelVersion; explainer: Explainer }> {
    const bytes = await readFile(join(FIXTURES, 'models', file));
    const stored = await artifacts.put(`models/${model}/${version}/model.onnx`, bytes);
    const record: ModelVersion = {
      model,
      version,
      status: 'ready',
      artifactUri: stored.uri,
      generation: stored.generation,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      sizeBytes: bytes.length,
      signature: { inputs: [], outputs: [] },
      metrics: {},
      params: {},
      tags: {},
      description: '',
      lineage: { sourceUri: 'test', datasetId },
      createdAt: T0.toISOString(),
    };
    const { loaded, bytes: verified } = await loadMonitoredModel(record, { artifacts, runner, cacheDir: join(folder, 'cache') });
    expect(Buffer.from(verified).equals(bytes)).toBe(true);
    const registered = { ...record, signature: loaded.signature };
    return { version: registered, explainer: createExplainer(loaded, registered, verified) };
  }

  const windowOf = (model: string, version: number): PredictionWindow => ({ model, version, start: T0, end: new Date(T0.getTime() + HOUR) });

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'attribution-drift-'));
    warehouse = new DuckDbWarehouse({ path: join(folder, 'warehouse.duckdb'), dataset: 'mlops' });
    await warehouse.ensureTables(TABLES);
    artifacts = new LocalBucketArtifactStore({ root: join(folder, 'bucket'), bucket: BUCKET });
    await warehouse.insert('offline_features', datasetRows('credit-train', scenario.reference_rows));
  });

  afterAll(async () => {
    await warehouse?.close();
    await rm(folder, { recursive: true, force: true });
  });

  describe('a linear model (exact attributions read from the graph), f2 spread 2.5x in the window', () => {
    const window = windowOf('credit', 1);
    let subject: Awaited<ReturnType<typeof monitored>>;
    const measure = async (tags: Record<string, string> = {}) =>
      measureAttributionDrift(
        { warehouse, artifacts, explainer: subject.explainer },
        subject.version,
        window,
        await referenceOf(warehouse, subject.version, window),
        attributionSettingsFromTags(tags).settings,
        computedAt,
      );

    beforeAll(async () => {
      subject = await monitored('credit', 1, 'skl2onnx-logreg-binary.onnx', 'credit-train');
      await warehouse.insert('predictions', predictionRows('credit', 1, scenario.window_rows.map(featuresOf)));
    });

    it('agrees with numpy per feature to 1e-9 and drifts exactly the shifted feature', async () => {
      const outcome = await measure();
      expect(outcome.skipped).toEqual([]);
      expect(outcome.summary).toMatchObject({ reference: 'dataset:credit-train', method: 'linear', referenceSize: 100, currentSize: 150 });
      const rows = new Map(outcome.rows.map((row) => [row.feature as string, row]));
      scenario.features.forEach((feature, index) => {
        const row = rows.get(feature)!;
        expect(row).toMatchObject({ model: 'credit', version: 1, method: 'linear', threshold: 0.1, reference_size: 100, current_size: 150 });
        expect(Math.abs((row.reference_importance as number) - scenario.reference_importance[index]!)).toBeLessThan(1e-9);
        expect(Math.abs((row.current_importance as number) - scenario.current_importance[index]!)).toBeLessThan(1e-9);
        expect(Math.abs((row.reference_share as number) - scenario.reference_share[index]!)).toBeLessThan(1e-9);
        expect(Math.abs((row.current_share as number) - scenario.current_share[index]!)).toBeLessThan(1e-9);
        expect(Math.abs((row.value as number) - scenario.drift[index]!)).toBeLessThan(1e-9);
      });
      expect(outcome.rows.filter((row) => row.drifted).map((row) => row.feature)).toEqual([scenario.shifted]);
      const ranking = rows.get('__dataset__')!;
      expect(ranking).toMatchObject({ method: 'ndcg', threshold: 0.9, drifted: false });
      expect(Math.abs((ranking.value as number) - scenario.ndcg)).toBeLessThan(1e-9);
      expect(outcome.observations.map(({ feature, method, drifted }) => [feature, method, drifted])).toEqual([
        ['attribution:f0', 'attribution_share', false],
        ['attribution:f1', 'attribution_share', false],
        ['attribution:f2', 'attribution_share', true],
        ['attribution:f3', 'attribution_share', false],
        ['attribution:__dataset__', 'ndcg', false],
      ]);
    });

    it('writes rows the feature_attributions table takes, replacing a re-run', async () => {
      const slice = { model: 'credit', version: 1, window_start: window.start.toISOString(), window_end: window.end.toISOString() };
      await warehouse.replace('feature_attributions', slice, (await measure()).rows);
      await warehouse.replace('feature_attributions', slice, (await measure()).rows);
      const stored = await warehouse.query<{ feature: string; drifted: boolean; n: number }>(
        'SELECT feature, ANY_VALUE(drifted) AS drifted, COUNT(*) AS n FROM {{feature_attributions}} WHERE model = @model GROUP BY feature ORDER BY feature',
        { model: 'credit' },
      );
      expect(stored.map(({ feature, drifted, n }) => [feature, drifted, Number(n)])).toEqual([
        ['__dataset__', false, 1],
        ['f0', false, 1],
        ['f1', false, 1],
        ['f2', true, 1],
        ['f3', false, 1],
      ]);
    });

    it('stores the background once for /explain: the reference rows, rewritten only when they change', async () => {
      await measure();
      const name = backgroundObject('credit', 1);
      const first = await artifacts.stat(name);
      const rows = await readBackground(artifacts, 'credit', 1);
      const sorted = (values: unknown[]) => values.map((value) => JSON.stringify(value)).sort();
      expect(sorted(rows!)).toEqual(sorted(scenario.reference_rows.map(featuresOf)));
      await measure();
      expect((await artifacts.stat(name))?.generation).toBe(first?.generation);
      expect(await readBackground(artifacts, 'credit', 2)).toBeUndefined();
    });

    it('flags the ranking below a stricter nDCG minimum and takes a feature its own threshold', async () => {
      const outcome = await measure({ 'attribution.min_ndcg': '0.9999', 'attribution.f2.threshold': '0.5' });
      expect(outcome.rows.find((row) => row.feature === '__dataset__')).toMatchObject({ threshold: 0.9999, drifted: true });
      expect(outcome.rows.filter((row) => row.drifted).map((row) => row.feature)).toEqual(['__dataset__']);
      expect(outcome.observations.at(-1)).toMatchObject({ feature: 'attribution:__dataset__', drifted: true, threshold: 0.9999 });
    });

    it('explains a bounded deterministic sample of each side', async () => {
      const first = await measure({ 'attribution.sample': '40' });
      expect(first.summary).toMatchObject({ referenceSize: 40, currentSize: 40 });
      expect(first.rows.every((row) => row.reference_size === 40 && row.current_size === 40)).toBe(true);
      expect((await measure({ 'attribution.sample': '40' })).rows).toEqual(first.rows);
      expect(first.rows).not.toEqual((await measure()).rows);
    });
  });

  describe('a non-linear model (sampled Shapley values), f1 spread 3x in the window', () => {
    const random = seeded(1);
    const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const names = ['f0', 'f1', 'f2', 'f3', 'f4'];
    const draw = (count: number, spreads: Record<string, number> = {}) =>
      Array.from({ length: count }, () => Object.fromEntries(names.map((name) => [name, Math.round(normal() * (spreads[name] ?? 1) * 256) / 256])));
    const measure = async (subject: Awaited<ReturnType<typeof monitored>>, window: PredictionWindow) =>
      measureAttributionDrift(
        { warehouse, artifacts, explainer: subject.explainer },
        subject.version,
        window,
        await referenceOf(warehouse, subject.version, window),
        attributionSettingsFromTags({}).settings,
        computedAt,
      );

    beforeAll(async () => {
      const reference = draw(100);
      await warehouse.insert(
        'offline_features',
        reference.map((features, index) => ({
          dataset_id: 'keras-train',
          entity_id: `k${index}`,
          event_time: T0.toISOString(),
          features,
          loaded_at: T0.toISOString(),
        })),
      );
      await warehouse.insert('predictions', predictionRows('keras', 1, draw(150, { f1: 3 })));
      await warehouse.insert('predictions', predictionRows('keras', 2, draw(150)));
    });

    it('drifts exactly the shifted feature, with shares adding up to 1 on each side', async () => {
      const outcome = await measure(await monitored('keras', 1, 'tf2onnx-keras.onnx', 'keras-train'), windowOf('keras', 1));
      expect(outcome.summary).toMatchObject({ method: 'sampled_shapley', referenceSize: 100, currentSize: 150 });
      const features = outcome.rows.filter((row) => row.feature !== '__dataset__');
      expect(features.map((row) => row.feature)).toEqual(names);
      expect(features.every((row) => row.method === 'sampled_shapley')).toBe(true);
      for (const side of ['reference_share', 'current_share']) expect(features.reduce((sum, row) => sum + (row[side] as number), 0)).toBeCloseTo(1, 12);
      expect(outcome.rows.filter((row) => row.drifted).map((row) => row.feature)).toEqual(['f1']);
    });

    it('finds no drift in a window drawn like the reference', async () => {
      const outcome = await measure(await monitored('keras', 2, 'tf2onnx-keras.onnx', 'keras-train'), windowOf('keras', 2));
      expect(outcome.rows).toHaveLength(names.length + 1);
      expect(outcome.rows.filter((row) => row.drifted)).toEqual([]);
    });
  });

  it('leaves out window rows missing a feature and rows the model refuses, and says how many of each', async () => {
    const subject = await monitored('credit', 2, 'skl2onnx-logreg-binary.onnx', 'credit-train');
    const window = windowOf('credit', 2);
    const valid = scenario.window_rows.slice(0, 30).map(featuresOf);
    await warehouse.insert('predictions', predictionRows('credit', 2, [...valid, { ...valid[0], f1: 'high' }, { f0: 1, f2: 3, f3: 0 }]));
    const outcome = await measureAttributionDrift(
      { warehouse, artifacts, explainer: subject.explainer },
      subject.version,
      window,
      await referenceOf(warehouse, subject.version, window),
      attributionSettingsFromTags({}).settings,
      computedAt,
    );
    expect(outcome.summary).toMatchObject({ referenceSize: 100, currentSize: 30 });
    expect(outcome.skipped.map((entry) => entry.reason)).toEqual([
      '1 of 32 window rows miss a feature value and were not explained',
      expect.stringMatching(/^1 of 31 window rows were refused by the model \(first: .+\)$/),
    ]);
  });

  it('measures nothing while the version has no reference yet', async () => {
    const subject = await monitored('fresh', 1, 'skl2onnx-logreg-binary.onnx');
    const window = windowOf('fresh', 1);
    // The first prediction came half-way through the window: the first full window after it has not ended.
    const halfWay = new Date(T0.getTime() + HOUR / 2);
    await warehouse.insert('predictions', predictionRows('fresh', 1, scenario.window_rows.slice(0, 20).map(featuresOf), halfWay));
    const reference = await referenceOf(warehouse, subject.version, window);
    expect(reference.describe).toBe('none');
    const outcome = await measureAttributionDrift(
      { warehouse, artifacts, explainer: subject.explainer },
      subject.version,
      window,
      reference,
      attributionSettingsFromTags({}).settings,
      computedAt,
    );
    expect(outcome).toMatchObject({ rows: [], observations: [], summary: { reference: 'none', referenceSize: 0, currentSize: 0 } });
    expect(outcome.skipped[0]!.reason).toMatch(/^no reference yet/);
    expect(await artifacts.stat(backgroundObject('fresh', 1))).toBeUndefined();
  });
});
