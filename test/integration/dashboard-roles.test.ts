import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { performanceSeries, predictedColumns, versionTotals } from '../../scripts/lib/dashboard/dashboard-queries.js';
import { DuckDbWarehouse } from '../../shared/adapters/duckdb/duckdb-warehouse.js';
import type { ModelSignature } from '../../shared/domain/model-signature.js';
import { TABLES } from '../../shared/domain/tables.js';

// Three versions of one model, each exported by another converter: the dashboard must read each one's label or value.
const SKL2ONNX: ModelSignature = {
  inputs: [],
  outputs: [
    { name: 'output_label', type: 'int64', shape: [null] },
    { name: 'output_probability', type: 'float32', shape: [null, 2], classes: ['0', '1'], keyedByClass: true },
  ],
};
const ONNXMLTOOLS: ModelSignature = {
  inputs: [],
  outputs: [
    { name: 'label', type: 'int64', shape: [null] },
    { name: 'probabilities', type: 'float32', shape: [null, 2], classes: ['0', '1'] },
  ],
};
const REGRESSOR: ModelSignature = { inputs: [], outputs: [{ name: 'variable', type: 'float32', shape: [null, 1] }] };
const versions = [
  { version: 1, signature: SKL2ONNX, tags: {} },
  { version: 2, signature: ONNXMLTOOLS, tags: {} },
  { version: 3, signature: REGRESSOR, tags: {} },
];

describe('dashboard accuracy and error for every converter naming (DuckDB)', () => {
  let folder: string;
  let warehouse: DuckDbWarehouse;
  const expected = { 1: { correct: 0, labelled: 0 }, 2: { correct: 0, labelled: 0 } };
  let absoluteErrors = 0;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'dashboard-roles-'));
    warehouse = new DuckDbWarehouse({ path: join(folder, 'warehouse.duckdb'), dataset: 'mlops' });
    await warehouse.ensureTables(TABLES);
    const predictions: Record<string, unknown>[] = [];
    const truth: Record<string, unknown>[] = [];
    for (let index = 0; index < 30; index++) {
      const version = (index % 3) + 1;
      const id = `p${index}`;
      const predicted = index % 2;
      const actual = index % 5 === 0 ? 1 - predicted : predicted;
      const outputs =
        version === 1
          ? { output_label: predicted, output_probability: { '0': 1 - 0.7 * predicted, '1': 0.7 * predicted } }
          : version === 2
            ? { label: predicted, probabilities: [1 - 0.7 * predicted, 0.7 * predicted] }
            : { variable: index * 1.5 };
      const requestTime = new Date(Date.UTC(2026, 0, 1, 0, index)).toISOString();
      predictions.push({ prediction_id: id, model: 'mixed', version, request_time: requestTime, latency_ms: 1, source: 'online', features: {}, outputs });
      if (version === 3) {
        truth.push({ prediction_id: id, label: null, value: index, observed_time: requestTime });
        absoluteErrors += Math.abs(index * 1.5 - index);
      } else {
        truth.push({ prediction_id: id, label: String(actual), value: null, observed_time: requestTime });
        expected[version as 1 | 2].labelled++;
        if (actual === predicted) expected[version as 1 | 2].correct++;
      }
    }
    await warehouse.insert('predictions', predictions);
    await warehouse.insert('ground_truth', truth);
  });

  afterAll(async () => {
    await warehouse?.close();
    await rm(folder, { recursive: true, force: true });
  });

  it('counts correct predictions of output_label and of label alike', async () => {
    const totals = await versionTotals(warehouse, 'mixed', predictedColumns(versions));
    for (const version of [1, 2] as const) {
      expect(totals.find((row) => row.version === version)).toMatchObject({
        labelled: expected[version].labelled,
        correct: expected[version].correct,
        accuracy: expected[version].correct / expected[version].labelled,
      });
    }
  });

  it('charts the mean absolute error of a regressor whose output is named variable', async () => {
    const { points } = await performanceSeries(warehouse, 'mixed', predictedColumns(versions));
    const regressor = points.filter((point) => point.version === 3);
    const weighted = regressor.reduce((sum, point) => sum + (point.mae ?? Number.NaN) * point.labelled, 0);
    expect(weighted / 10).toBeCloseTo(absoluteErrors / 10, 10);
  });
});
