import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataApi } from '../../functions/data-api/app.js';
import { DuckDbWarehouse } from '../../shared/adapters/duckdb/duckdb-warehouse.js';
import type { PredictionWindow } from '../../shared/domain/drift/drift-queries.js';
import { GroundTruthReceived } from '../../shared/domain/events.js';
import type { AttributeFairness, GroupMetric } from '../../shared/domain/fairness/metrics.js';
import { type FairnessSettings, fairnessSettingsFromTags } from '../../shared/domain/fairness/settings.js';
import type { TensorSpec } from '../../shared/domain/model-signature.js';
import { modelTask } from '../../shared/domain/model-task.js';
import { TABLES } from '../../shared/domain/tables.js';
import type { EventBus } from '../../shared/ports/event-bus.port.js';
import type { Row, Warehouse } from '../../shared/ports/warehouse.port.js';
import { measureFairness } from '../../shared/services/fairness.js';
import { ingestGroundTruth } from '../../shared/services/ingest.js';
import { mlops } from '../support/cli.js';

/** Written by scripts/fixtures/fairness_reference.py with numpy; see that script for how each number is defined. */
interface FixtureRow {
  id: string;
  features: Record<string, unknown>;
  predicted: string | null;
  truth?: { label: string; attributes?: Record<string, string> };
}
type ExpectedGroup = Record<GroupMetric, number | null> & { predictions: number; labelled: number; too_small: { predictions: boolean; labelled: boolean } };
interface FixtureCase {
  name: 'binary' | 'multiclass';
  classes: string[];
  positive: string;
  attributes: string[];
  min_group: number;
  rows: FixtureRow[];
  expected: Record<
    string,
    {
      groups: Record<string, ExpectedGroup>;
      comparisons: Record<'demographic_parity_difference' | 'disparate_impact_ratio' | 'equalized_odds_difference', number | null> & {
        selection_groups: string[];
      };
      ungrouped: number;
    }
  >;
}

const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/fairness-reference.json'), 'utf8')) as { cases: FixtureCase[] };
const EXACT = 1e-12;
const START = new Date('2026-05-01T00:00:00Z');
const END = new Date('2026-05-02T00:00:00Z');
const COMPUTED_AT = '2026-05-02T00:05:00.000Z';
const time = (index: number, base = START) => new Date(base.getTime() + index * 60_000).toISOString();

/** The binary case is an skl2onnx-style classifier (an int64 label); the multiclass one has string labels and names its classes by tag. */
const OUTPUTS: Record<FixtureCase['name'], { outputs: TensorSpec[]; tags: Record<string, string>; label: (predicted: string) => unknown }> = {
  binary: {
    outputs: [
      { name: 'output_label', type: 'int64', shape: [null] },
      { name: 'output_probability', type: 'float32', shape: [null, 2] },
    ],
    tags: { 'fairness.attribute': 'sex, age_band' },
    label: Number,
  },
  multiclass: {
    outputs: [
      { name: 'output_label', type: 'string', shape: [null] },
      { name: 'output_probability', type: 'float32', shape: [null, 3] },
    ],
    tags: { classes: 'a,b,c', 'fairness.attribute': 'region', 'fairness.positive': 'b' },
    label: String,
  },
};

function settingsOf(name: FixtureCase['name'], extraTags: Record<string, string> = {}): FairnessSettings {
  const { outputs, tags } = OUTPUTS[name];
  const all = { ...tags, ...extraTags };
  const { settings, problems } = fairnessSettingsFromTags(all, modelTask({ inputs: [], outputs }, all));
  expect(problems).toEqual([]);
  return settings!;
}

/** The case's predictions in the window of version 1, and copies that must not count: another version, before the window, at its end. */
function predictionRows(test: FixtureCase, model: string): Row[] {
  const { label } = OUTPUTS[test.name];
  const row = (entry: FixtureRow, id: string, version: number, requestTime: string): Row => ({
    prediction_id: id,
    model,
    version,
    request_time: requestTime,
    features: entry.features,
    outputs: entry.predicted === null ? { output_probability: [0.5, 0.5] } : { output_label: label(entry.predicted) },
    latency_ms: 1,
    source: 'online',
  });
  return test.rows.flatMap((entry, index) => [
    row(entry, entry.id, 1, time(index)),
    row(entry, `${entry.id}-v2`, 2, time(index)),
    row(entry, `${entry.id}-early`, 1, time(-index - 1)),
    ...(index === 0 ? [row(entry, `${entry.id}-late`, 1, END.toISOString())] : []),
  ]);
}

/** Ground truth as the data API publishes it, through the real schema and ingest mapping. */
async function ingestTruth(warehouse: Warehouse, test: FixtureCase): Promise<void> {
  const records = test.rows.flatMap((entry, index) =>
    entry.truth ? [{ predictionId: entry.id, label: entry.truth.label, observedTime: time(index, END), attributes: entry.truth.attributes }] : [],
  );
  await ingestGroundTruth(GroundTruthReceived.parse({ schemaVersion: 1, records }), warehouse);
}

/** A warehouse that counts the queries sent to it, so a test can hold the one-pass-per-attribute promise. */
function counting(warehouse: Warehouse): Warehouse & { queries: number } {
  const counted = Object.create(warehouse) as Warehouse & { queries: number };
  counted.queries = 0;
  counted.query = (sql, params) => {
    counted.queries++;
    return warehouse.query(sql, params);
  };
  return counted;
}

function expectClose(actual: number | null | undefined, expected: number | null, label: string): void {
  if (expected === null) expect(actual, label).toBeNull();
  else expect(Math.abs((actual ?? Number.NaN) - expected), `${label}: ${actual} vs ${expected}`).toBeLessThanOrEqual(EXACT);
}

function expectAgrees(measured: AttributeFairness, expected: FixtureCase['expected'][string]): void {
  expect(measured.groups.map((group) => group.group)).toEqual(Object.keys(expected.groups).sort());
  expect(measured.ungrouped).toBe(expected.ungrouped);
  for (const group of measured.groups) {
    const reference = expected.groups[group.group]!;
    expect([group.predictions, group.labelled], group.group).toEqual([reference.predictions, reference.labelled]);
    for (const entry of group.metrics) {
      expectClose(entry.value, reference[entry.metric], `${measured.attribute}=${group.group} ${entry.metric}`);
      expect(entry.tooSmall).toBe(entry.metric === 'selection_rate' ? reference.too_small.predictions : reference.too_small.labelled);
    }
  }
  for (const comparison of measured.comparisons)
    expectClose(comparison.value, expected.comparisons[comparison.metric], `${measured.attribute} ${comparison.metric}`);
  expect(measured.comparisons.find((entry) => entry.metric === 'demographic_parity_difference')?.groups).toEqual(expected.comparisons.selection_groups);
}

describe('fairness over DuckDB agrees with numpy', () => {
  let folder: string;
  let warehouse: DuckDbWarehouse;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'fairness-'));
    warehouse = new DuckDbWarehouse({ path: join(folder, 'warehouse.duckdb'), dataset: 'mlops' });
    await warehouse.ensureTables(TABLES);
    for (const test of fixture.cases) {
      await warehouse.insert('predictions', predictionRows(test, test.name));
      await ingestTruth(warehouse, test);
    }
  });

  afterAll(async () => {
    await warehouse?.close();
    await rm(folder, { recursive: true, force: true });
  });

  const windowOf = (model: string): PredictionWindow => ({ model, version: 1, start: START, end: END });

  it.each(fixture.cases.map((test) => [test.name, test] as const))('%s: every group metric and comparison, in one pass per attribute', async (name, test) => {
    const counted = counting(warehouse);
    const outcome = await measureFairness(counted, { model: name, version: 1 }, windowOf(name), settingsOf(name), COMPUTED_AT);
    expect(counted.queries).toBe(test.attributes.length);
    expect(outcome.skipped).toEqual([]);
    expect(outcome.summary.positive).toBe(test.positive);
    expect(outcome.summary.attributes.map((entry) => entry.attribute)).toEqual(test.attributes);
    for (const measured of outcome.summary.attributes) expectAgrees(measured, test.expected[measured.attribute]!);
  });

  it('flags the comparisons past their thresholds and observes the first one flagged per attribute', async () => {
    const outcome = await measureFairness(warehouse, { model: 'binary', version: 1 }, windowOf('binary'), settingsOf('binary'), COMPUTED_AT);
    const sex = outcome.summary.attributes.find((entry) => entry.attribute === 'sex')!;
    expect(sex.comparisons.map((entry) => [entry.metric, entry.threshold, entry.flagged])).toEqual([
      ['demographic_parity_difference', 0.1, true],
      ['disparate_impact_ratio', 0.8, true],
      ['equalized_odds_difference', 0.1, true],
    ]);
    // Odds compare only F and M: X has too few labelled predictions, Z too few of any.
    expect(sex.comparisons[2]!.groups).toEqual(['F', 'M']);
    const { groups } = fixture.cases[0]!.expected.sex!;
    expect(outcome.observations).toEqual([
      {
        feature: 'fairness:sex',
        method: 'demographic_parity_difference',
        value: groups.M!.selection_rate! - groups.X!.selection_rate!,
        threshold: 0.1,
        drifted: true,
      },
      { feature: 'fairness:age_band', method: 'demographic_parity_difference', value: expect.any(Number), threshold: 0.1, drifted: false },
    ]);
    const lenient = await measureFairness(
      warehouse,
      { model: 'binary', version: 1 },
      windowOf('binary'),
      settingsOf('binary', { 'fairness.max_parity_difference': '0.5', 'fairness.min_disparate_impact': '0.5' }),
      COMPUTED_AT,
    );
    expect(lenient.observations[0]).toMatchObject({ feature: 'fairness:sex', method: 'equalized_odds_difference', threshold: 0.1, drifted: true });
  });

  it('a minimum group larger than every group leaves each too small and each comparison null, unflagged and unobserved', async () => {
    const outcome = await measureFairness(
      warehouse,
      { model: 'multiclass', version: 1 },
      windowOf('multiclass'),
      settingsOf('multiclass', { 'fairness.min_group': '1000' }),
      COMPUTED_AT,
    );
    const [region] = outcome.summary.attributes;
    expect(region!.groups.flatMap((group) => group.metrics.map((entry) => [entry.value, entry.tooSmall]))).toEqual(
      Array.from({ length: 12 }, () => [null, true]),
    );
    expect(region!.comparisons.map((entry) => [entry.value, entry.flagged, entry.groups])).toEqual(Array.from({ length: 3 }, () => [null, false, []]));
    expect(outcome.observations).toEqual([]);
  });

  it('rows fit fairness_metrics, too small ones with no value, and replace the window slice', async () => {
    const outcome = await measureFairness(warehouse, { model: 'binary', version: 1 }, windowOf('binary'), settingsOf('binary'), COMPUTED_AT);
    const slice = { model: 'binary', version: 1, window_start: START.toISOString(), window_end: END.toISOString() };
    await warehouse.replace('fairness_metrics', slice, outcome.rows);
    await warehouse.replace('fairness_metrics', slice, outcome.rows);
    const stored = await warehouse.query(
      "SELECT attribute, group_value, metric, value, predictions, labelled, threshold, flagged, too_small FROM {{fairness_metrics}} WHERE model = 'binary' ORDER BY attribute, group_value, metric",
    );
    // sex: 4 groups x 4 metrics + 3 comparisons; age_band: 2 x 4 + 3.
    expect(stored).toHaveLength(19 + 11);
    expect(stored.find((row) => row.attribute === 'sex' && row.group_value === 'Z' && row.metric === 'selection_rate')).toMatchObject({
      value: null,
      predictions: 10,
      too_small: true,
      flagged: false,
      threshold: null,
    });
    const impact = stored.find((row) => row.attribute === 'sex' && row.group_value === '__all__' && row.metric === 'disparate_impact_ratio');
    expect(impact).toMatchObject({ predictions: 620, threshold: 0.8, flagged: true, too_small: false });
    expectClose(impact!.value as number, fixture.cases[0]!.expected.sex!.comparisons.disparate_impact_ratio, 'stored disparate impact');
  });

  it('a regression is skipped per attribute with the reason, and queries nothing', async () => {
    const outputs: TensorSpec[] = [{ name: 'variable', type: 'float32', shape: [null, 1] }];
    const tags = { 'fairness.attribute': 'sex' };
    const { settings } = fairnessSettingsFromTags(tags, modelTask({ inputs: [], outputs }, tags));
    const counted = counting(warehouse);
    const outcome = await measureFairness(counted, { model: 'binary', version: 1 }, windowOf('binary'), settings!, COMPUTED_AT);
    expect(counted.queries).toBe(0);
    expect(outcome).toMatchObject({
      rows: [],
      observations: [],
      skipped: [{ feature: 'fairness:sex', reason: expect.stringMatching(/task is 'regression'/) }],
    });
  });

  it('an attribute no prediction carries, or one with too many values, is skipped with the reason', async () => {
    const outcome = await measureFairness(
      warehouse,
      { model: 'binary', version: 1 },
      windowOf('binary'),
      settingsOf('binary', { 'fairness.attribute': 'religion,income' }),
      COMPUTED_AT,
    );
    expect(outcome.rows).toEqual([]);
    expect(outcome.skipped).toEqual([
      { feature: 'fairness:religion', reason: expect.stringMatching(/no prediction of the window has a value for 'religion'/) },
      { feature: 'fairness:income', reason: expect.stringMatching(/'income' takes more than 50 values/) },
    ]);
  });

  it('throws MONITORING.FAILED when the window is not of the version', async () => {
    await expect(measureFairness(warehouse, { model: 'binary', version: 2 }, windowOf('binary'), settingsOf('binary'), COMPUTED_AT)).rejects.toMatchObject({
      code: 'MONITORING.FAILED',
    });
  });
});

// Attributes sent with ground truth travel from a CSV through `mlops ground-truth`, the real data API
// and the ingest mapping into ground_truth.attributes, where fairness groups the predictions by them.
describe('attributes sent with ground truth through mlops ground-truth', () => {
  const files = mkdtempSync(join(tmpdir(), 'fairness-cli-'));
  const published: unknown[] = [];
  const bus: EventBus = {
    publish: async (_topic, data) => String(published.push(data)),
    request: async (topic) => {
      throw new Error(`the data API never waits for a reply (asked on ${topic})`);
    },
    close: async () => undefined,
  };
  let server: ServerType;
  let warehouse: DuckDbWarehouse;
  const saved = { url: process.env.MLOPS_DATA_API_URL, dataDir: process.env.MLOPS_DATA_DIR };

  beforeAll(async () => {
    warehouse = new DuckDbWarehouse({ path: join(files, 'warehouse.duckdb'), dataset: 'mlops' });
    await warehouse.ensureTables(TABLES);
    const app = createDataApi({ bus: () => bus, warehouse: async () => warehouse, apiKeyHashes: [] });
    server = await new Promise<ServerType>((resolve) => {
      const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started));
    });
    process.env.MLOPS_DATA_API_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    process.env.MLOPS_DATA_DIR = files;
  });

  afterAll(async () => {
    server?.close();
    await warehouse?.close();
    Object.assign(process.env, { MLOPS_DATA_API_URL: saved.url, MLOPS_DATA_DIR: saved.dataDir });
    await rm(files, { recursive: true, force: true });
  });

  it('CSV attributes.<name> columns and JSONL attributes land in ground_truth and group the window', async () => {
    const predicted = ['1', '1', '0', '1', '0', '0'];
    await warehouse.insert(
      'predictions',
      predicted.map((label, index) => ({
        prediction_id: `c-${index}`,
        model: 'cli',
        version: 1,
        request_time: time(index),
        features: { income: 40 + index },
        outputs: { output_label: Number(label) },
        latency_ms: 1,
        source: 'online',
      })),
    );
    const csv = join(files, 'truth.csv');
    writeFileSync(
      csv,
      'id,label,observed_time,attributes.band\nc-0,1,2026-05-02T01:00:00Z,low\nc-1,0,2026-05-02T01:00:00Z,low\nc-2,0,2026-05-02T01:00:00Z,high\n',
    );
    const jsonl = join(files, 'truth.jsonl');
    writeFileSync(
      jsonl,
      '{"id": "c-3", "label": 1, "observed_time": "2026-05-02T01:00:00Z", "attributes": {"band": "high"}}\n' +
        '{"id": "c-4", "label": 1, "observed_time": "2026-05-02T01:00:00Z", "attributes": ["high"]}\n',
    );
    expect((await mlops('ground-truth', csv)).stdout).toBe('accepted 3 ground truth records; refused 0\n');
    const refused = await mlops('ground-truth', jsonl);
    expect(refused.stdout).toMatch(/^accepted 1 ground truth records; refused 1:\n {2}line 2: attributes: /);
    for (const event of published) await ingestGroundTruth(GroundTruthReceived.parse(event), warehouse);
    const stored = await warehouse.query('SELECT prediction_id, attributes FROM {{ground_truth}} ORDER BY prediction_id');
    expect(stored).toEqual([
      { prediction_id: 'c-0', attributes: { band: 'low' } },
      { prediction_id: 'c-1', attributes: { band: 'low' } },
      { prediction_id: 'c-2', attributes: { band: 'high' } },
      { prediction_id: 'c-3', attributes: { band: 'high' } },
    ]);
    const tags = { 'fairness.attribute': 'band', 'fairness.min_group': '1' };
    const { settings } = fairnessSettingsFromTags(tags, modelTask({ inputs: [], outputs: OUTPUTS.binary.outputs }, tags));
    const outcome = await measureFairness(
      warehouse,
      { model: 'cli', version: 1 },
      { model: 'cli', version: 1, start: START, end: END },
      settings!,
      COMPUTED_AT,
    );
    const [band] = outcome.summary.attributes;
    // c-4 and c-5 have no ground truth, so no band: ungrouped. high: c-2 (0, truth 0), c-3 (1, truth 1); low: c-0 (1, truth 1), c-1 (1, truth 0).
    expect(band!.ungrouped).toBe(2);
    expect(band!.groups.map((group) => [group.group, ...group.metrics.map((entry) => entry.value)])).toEqual([
      ['high', 0.5, 1, 1, 0],
      ['low', 1, 0.5, 1, 1],
    ]);
    expect(band!.comparisons.map((entry) => entry.value)).toEqual([0.5, 0.5, 1]);
  });
});
