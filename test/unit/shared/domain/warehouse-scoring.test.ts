import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxModelRunner } from '../../../../shared/adapters/onnx/index.js';
import type { ModelSignature } from '../../../../shared/domain/model-signature.js';
import { planInputs } from '../../../../shared/domain/serving/input-plan.js';
import {
  batchPredictionIdSql,
  bigQueryMlModelName,
  bigQueryMlSupport,
  createModelSql,
  mlPredictInsertSql,
  shardKey,
  shardRows,
  shardsFrom,
} from '../../../../shared/domain/warehouse-scoring.js';
import type { LoadedModel } from '../../../../shared/ports/model-runner.port.js';
import { binaryClassifierOnnx } from '../../../support/models.js';

const FIXTURES = join(import.meta.dirname, '../../../fixtures/models');
const URI = 'gs://mlops-artifacts/models/churn/v3/model.onnx';
const loaded = new Map<string, LoadedModel>();

async function support(name: string) {
  const model = loaded.get(name)!;
  return bigQueryMlSupport({ artifactUri: URI, signature: model.signature, served: model.served }, planInputs(model.signature, model.metadata));
}

beforeAll(async () => {
  const runner = new OnnxModelRunner();
  for (const name of ['skl2onnx-logreg-binary', 'skl2onnx-column-transformer', 'onnxmltools-xgboost-classifier', 'torch-two-inputs', 'tf2onnx-keras']) {
    loaded.set(name, await runner.load(readFileSync(join(FIXTURES, `${name}.onnx`))));
  }
  loaded.set('platform-classifier', await runner.load(binaryClassifierOnnx()));
});
afterAll(async () => {
  for (const model of loaded.values()) await model.close();
});

describe('which versions BigQuery ML can import', () => {
  it.each(['onnxmltools-xgboost-classifier', 'torch-two-inputs', 'tf2onnx-keras', 'platform-classifier'])(
    '%s qualifies: tensors in and out, dynamic batch',
    async (name) => {
      expect(await support(name)).toEqual({ importable: true });
    },
  );

  it.each(['skl2onnx-logreg-binary', 'skl2onnx-column-transformer'])(
    '%s does not: its upload ends in a ZipMap, served through a derived graph',
    async (name) => {
      const result = await support(name);
      expect(result.importable).toBe(false);
      expect(result).toMatchObject({ reason: expect.stringMatching(/ZipMap.*zipmap disabled/) });
    },
  );

  const signature = (batch: number | null, outputShape: (number | null)[] = [batch, 1]): ModelSignature => ({
    inputs: [{ name: 'X', type: 'float32', shape: [batch, 4] }],
    outputs: [{ name: 'y', type: 'float32', shape: outputShape }],
  });
  const check = (sig: ModelSignature, artifactUri = URI) => bigQueryMlSupport({ artifactUri, signature: sig }, planInputs(sig, {}));

  it('refuses a fixed batch, an artifact outside Cloud Storage, a rank-3 output and a name that is no column name', () => {
    expect(check(signature(1))).toMatchObject({ importable: false, reason: expect.stringContaining('fixed at 1') });
    expect(check(signature(null), 'file:///tmp/model.onnx')).toMatchObject({ importable: false, reason: expect.stringContaining('gs:// URI') });
    expect(check(signature(null, [null, 2, 3]))).toMatchObject({ importable: false, reason: expect.stringContaining('at most [batch, k]') });
    const dotted: ModelSignature = {
      inputs: [{ name: 'input:0', type: 'float32', shape: [null, 4] }],
      outputs: [{ name: 'y', type: 'float32', shape: [null] }],
    };
    expect(check(dotted)).toMatchObject({ importable: false, reason: expect.stringContaining("'input:0' is not a BigQuery column name") });
    const bytes: ModelSignature = { inputs: [{ name: 'X', type: 'uint8', shape: [null, 4] }], outputs: [{ name: 'y', type: 'float32', shape: [null] }] };
    expect(check(bytes)).toMatchObject({ importable: false, reason: expect.stringContaining('uint8, which has no BigQuery type') });
  });
});

describe('the BigQuery ML statements', () => {
  it('imports the version from its gs:// URI under a name BigQuery accepts', () => {
    expect(bigQueryMlModelName('churn-model.v2', 3)).toBe('mlops_churn_model_v2_v3');
    expect(createModelSql('mlops_churn_v3', URI)).toBe(`CREATE OR REPLACE MODEL {{mlops_churn_v3}} OPTIONS(MODEL_TYPE = 'ONNX', MODEL_PATH = '${URI}')`);
  });

  it('feeds the platform classifier its [batch, 4] input from the named features and packs its [batch, 1] outputs as scalars', () => {
    const model = loaded.get('platform-classifier')!;
    const sql = mlPredictInsertSql('mlops_churn_v3', model.signature, planInputs(model.signature, model.metadata));
    expect(sql).toContain("SAFE.FLOAT64(features['f0']) AS v0");
    expect(sql).toContain('[v0, v1, v2, v3] AS `features`');
    expect(sql).toContain("JSON_OBJECT('f0', v0, 'f1', v1, 'f2', v2, 'f3', v3) AS mlops_features");
    for (const output of model.signature.outputs) expect(sql).toContain(`'${output.name}', \`${output.name}\`[SAFE_OFFSET(0)]`);
    expect(sql).toContain('FROM ML.PREDICT(MODEL {{mlops_churn_v3}}');
    expect(sql).toContain("'batch', NULL");
    // Rows already scored by this version are not scored again: a re-run inserts nothing.
    expect(sql).toMatch(/NOT EXISTS \(SELECT 1 FROM \{\{predictions\}\} AS done WHERE done\.model = @model AND done\.version = @version/);
    expect(sql).toContain(batchPredictionIdSql('bigquery'));
  });

  it('leaves out rows onnxruntime scoring would skip, and takes missing values as NaN only when the version says so', () => {
    const model = loaded.get('platform-classifier')!;
    const strict = mlPredictInsertSql('m', model.signature, planInputs(model.signature, model.metadata));
    expect(strict).toContain('WHERE ABS(v0) <= 3.4028234663852886e+38 AND ABS(v1) <=');
    expect(strict).not.toContain("CAST('NaN' AS FLOAT64)");
    const lenient = mlPredictInsertSql('m', model.signature, planInputs(model.signature, model.metadata, { 'inputs.missing': 'nan' }));
    expect(lenient).toContain("COALESCE(SAFE.FLOAT64(features['f0']), IF(features['f0'] IS NULL OR JSON_TYPE(features['f0']) = 'null'");
    expect(lenient).toContain("LAX_STRING(features['f0']) IN ('NaN', 'nan', '')");
    expect(lenient).toContain("'f0', IF(IS_NAN(v0), NULL, v0)");
    expect(lenient).toContain('(IS_NAN(v0) OR ABS(v0) <= 3.4028234663852886e+38)');
  });

  it('feeds a two-input model one column per input: floats as an ARRAY, int64 codes as INT64', () => {
    const model = loaded.get('torch-two-inputs')!;
    const sql = mlPredictInsertSql('m', model.signature, planInputs(model.signature, model.metadata), { from: 'c-100', to: 'c-200' });
    expect(sql).toContain("COALESCE(features['x_num'][0], features['x_num_0'])");
    expect(sql).toContain("SAFE.INT64(COALESCE(features['x_cat'][1], features['x_cat_1'])) AS v4");
    expect(sql).toContain('[v0, v1, v2] AS `x_num`, [v3, v4] AS `x_cat`');
    expect(sql).toContain('v4 BETWEEN -9007199254740991 AND 9007199254740991');
    expect(sql).toContain('WHERE dataset_id = @dataset AND entity_id >= @range_from AND entity_id < @range_to');
  });
});

describe('the shard plan', () => {
  it('sizes shards to finish within 540 s at the measured rate with the safety factor', () => {
    expect(shardRows({ rowsPerSecond: 30_000 })).toBe(5_400_000);
    expect(shardRows({ rowsPerSecond: 1000, timeLimitSeconds: 60, safetyFactor: 4 })).toBe(15_000);
  });

  it('covers every entity: open first and last bounds, each shard ending where the next starts', () => {
    const shards = shardsFrom([
      { start_entity: 'a', row_count: 10 },
      { start_entity: 'k', row_count: 12 },
      { start_entity: 't', row_count: 3 },
    ]);
    expect(shards).toEqual([
      { index: 0, from: null, to: 'k', rows: 10 },
      { index: 1, from: 'k', to: 't', rows: 12 },
      { index: 2, from: 't', to: null, rows: 3 },
    ]);
    expect(shardKey('churn', 3, 'march', shards[1]!)).toBe('churn@3/march/[k,t)');
  });
});
