import onnxProto from 'onnx-proto';
import { afterEach, describe, expect, it } from 'vitest';
import { OnnxModelRunner } from '../../../../../shared/adapters/onnx/index.js';
import { isPlatformError } from '../../../../../shared/domain/errors.js';
import type { ErrorCode } from '../../../../../shared/domain/errors.js';
import type { Tensor, TensorElementType } from '../../../../../shared/domain/model-signature.js';
import { servableModel } from '../../../../../shared/model-export/servable-graph.js';
import { linearRegressionToOnnx, logisticRegressionToOnnx } from '../../../../../shared/model-export/onnx-writer.js';
import type { LoadedModel } from '../../../../../shared/ports/model-runner.port.js';
import { BINARY_CLASSIFIER, REGRESSOR, binaryClassifierOnnx, corruptOnnx, regressorOnnx } from '../../../../support/models.js';

const { onnx } = onnxProto;
const runner = new OnnxModelRunner();
const loaded: LoadedModel[] = [];

async function load(bytes: Uint8Array): Promise<LoadedModel> {
  const model = await runner.load(bytes);
  loaded.push(model);
  return model;
}

afterEach(async () => {
  await Promise.all(loaded.splice(0).map((model) => model.close()));
});

const sigmoid = (score: number): number => 1 / (1 + Math.exp(-score));
const linearScore = (weights: readonly number[], intercept: number, row: number[]): number =>
  row.reduce((sum, value, index) => sum + value * weights[index]!, intercept);

function features(rows: number[][]): Record<string, Tensor> {
  return { features: { type: 'float32', shape: [rows.length, rows[0]!.length], data: rows.flat() } };
}

/** float32 keeps about 7 significant digits, so compare to 1e-6 relative to the magnitude (absolute below 1). */
function expectClose(actual: Tensor['data'], expected: number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((value, index) => {
    const want = expected[index]!;
    expect(Math.abs((value as number) - want)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want)));
  });
}

async function expectPlatformError(promise: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isPlatformError(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
  expect((error as Error).message).toMatch(message);
}

const ROWS = [
  [1, 2, -0.5, 0.25],
  [2, 0.5, 1, 1],
  [0, 0, 0, 0],
  [0.5, -1, 0, 0.5],
];

describe('logistic regression exported to ONNX', () => {
  it('declares float32 features and probability/label outputs with a dynamic batch dimension', async () => {
    const model = await load(binaryClassifierOnnx());
    expect(model.signature).toEqual({
      inputs: [{ name: 'features', type: 'float32', shape: [null, 4] }],
      outputs: [
        { name: 'probability', type: 'float32', shape: [null, 1], activation: 'sigmoid' },
        { name: 'label', type: 'int64', shape: [null, 1] },
      ],
    });
  });

  it('returns sigmoid(w·x + b) for every row of a batch', async () => {
    const model = await load(binaryClassifierOnnx());
    const { probability } = await model.run(features(ROWS));
    const { weights, intercept } = BINARY_CLASSIFIER;
    expect(probability?.shape).toEqual([ROWS.length, 1]);
    expectClose(
      probability!.data,
      ROWS.map((row) => sigmoid(linearScore(weights, intercept, row))),
    );
  });

  it('labels a row 1 exactly when its probability reaches the threshold', async () => {
    const model = await load(binaryClassifierOnnx());
    const { probability, label } = await model.run(features(ROWS));
    expect(label?.type).toBe('int64');
    expect(label?.data).toEqual((probability!.data as number[]).map((value) => (value >= 0.5 ? 1 : 0)));
    expect(label?.data).toEqual([0, 1, 0, 1]);
  });

  it('counts a probability equal to the threshold as positive', async () => {
    const model = await load(logisticRegressionToOnnx({ weights: [1, -1], intercept: 0 }));
    const { probability, label } = await model.run(
      features([
        [2, 2],
        [2, 2.5],
      ]),
    );
    expect(probability?.data[0]).toBe(0.5);
    expect(label?.data).toEqual([1, 0]);
  });

  it('applies a custom threshold and input name', async () => {
    const bytes = logisticRegressionToOnnx({ weights: [1], intercept: 0, threshold: 0.7, inputName: 'x' });
    const model = await load(bytes);
    expect(model.signature.inputs[0]?.name).toBe('x');
    const { probability, label } = await model.run({ x: { type: 'float32', shape: [3, 1], data: [0.5, 0.9, 1] } });
    expectClose(probability!.data, [sigmoid(0.5), sigmoid(0.9), sigmoid(1)]);
    expect(label?.data).toEqual([0, 1, 1]);
  });
});

describe('linear regression exported to ONNX', () => {
  it('declares a float32 value output with a dynamic batch dimension', async () => {
    const model = await load(regressorOnnx());
    expect(model.signature).toEqual({
      inputs: [{ name: 'features', type: 'float32', shape: [null, 3] }],
      outputs: [{ name: 'value', type: 'float32', shape: [null, 1] }],
    });
  });

  it('returns w·x + b for every row of a batch', async () => {
    const rows = ROWS.map((row) => row.slice(0, 3));
    const { value } = await (await load(regressorOnnx())).run(features(rows));
    expect(value?.shape).toEqual([rows.length, 1]);
    expectClose(
      value!.data,
      rows.map((row) => linearScore(REGRESSOR.weights, REGRESSOR.intercept, row)),
    );
  });
});

describe('model metadata', () => {
  it('round-trips feature names through the model file', () => {
    expect(servableModel(binaryClassifierOnnx()).metadata).toEqual({ feature_names: '["f0","f1","f2","f3"]' });
    expect(servableModel(regressorOnnx()).metadata).toEqual({ feature_names: '["x0","x1","x2"]' });
  });

  it('reports no feature names when the exporter was given none', () => {
    expect(servableModel(linearRegressionToOnnx({ weights: [1], intercept: 0 })).metadata).toEqual({});
  });

  it('rejects bytes that are not a model', () => {
    expect(() => servableModel(new TextEncoder().encode('not a model'))).toThrow(/not a valid ONNX model/);
  });
});

describe('ONNX writers', () => {
  it.each([
    ['no weights', { weights: [], intercept: 0 }],
    ['a NaN weight', { weights: [1, Number.NaN], intercept: 0 }],
    ['feature names that do not match the weights', { weights: [1, 2], intercept: 0, featureNames: ['a'] }],
    ['an input name the graph uses internally', { weights: [1], intercept: 0, inputName: 'weights' }],
  ])('refuse %s', (_case, options) => {
    expect(() => linearRegressionToOnnx(options)).toThrow(RangeError);
    expect(() => logisticRegressionToOnnx(options)).toThrow(RangeError);
  });

  it('refuse a threshold outside [0, 1]', () => {
    expect(() => logisticRegressionToOnnx({ weights: [1], intercept: 0, threshold: 1.5 })).toThrow(RangeError);
  });
});

/** Deterministic noise, so a failure can be replayed. */
function pseudoRandomBytes(length: number, seed = 42): Uint8Array {
  let state = seed;
  return Uint8Array.from({ length }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state & 0xff;
  });
}

describe('OnnxModelRunner.load', () => {
  it.each([
    ['random bytes', pseudoRandomBytes(512)],
    ['a text file', new TextEncoder().encode('name,age\nada,36\n')],
    ['a truncated model', corruptOnnx()],
    ['an empty file', new Uint8Array()],
  ])('fails permanently with MODEL.LOAD_FAILED on %s', async (_case, bytes) => {
    const error = await runner.load(bytes).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(isPlatformError(error, 'MODEL.LOAD_FAILED')).toBe(true);
    expect((error as Error).message).toMatch(/^The file is not a valid ONNX model: \S/);
    expect((error as { permanent: boolean }).permanent).toBe(true);
  });
});

describe('OnnxLoadedModel.run input checks', () => {
  const cases: [string, Record<string, Tensor>, RegExp][] = [
    ['a missing input', {}, /Missing input 'features'/],
    ['the wrong element type', { features: { type: 'int64', shape: [1, 4], data: [1, 2, 3, 4] } }, /must be float32/],
    ['the wrong feature count', features([[1, 2, 3]]), /must have shape \[\?, 4\]/],
    ['data that does not fill the shape', { features: { type: 'float32', shape: [2, 4], data: [1, 2, 3, 4] } }, /needs 8/],
    ['values of the wrong kind', { features: { type: 'float32', shape: [1, 4], data: ['1', '2', '3', '4'] } }, /only number/],
  ];

  it.each(cases)('rejects %s with MODEL.INVALID_INPUT', async (_case, inputs, message) => {
    const model = await load(binaryClassifierOnnx());
    await expectPlatformError(model.run(inputs), 'MODEL.INVALID_INPUT', message);
  });
});

/** A one-node model that returns its input unchanged, to exercise each element type's conversion. */
function identityOnnx(type: TensorElementType): Uint8Array {
  const elemType = onnx.TensorProto.DataType[ONNX_TYPE_NAMES[type]];
  const valueInfo = (name: string) => ({ name, type: { tensorType: { elemType, shape: { dim: [{ dimParam: 'n' }] } } } });
  const graph = { name: 'identity', node: [{ opType: 'Identity', input: ['in'], output: ['out'] }], input: [valueInfo('in')], output: [valueInfo('out')] };
  const model = onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], graph });
  return onnx.ModelProto.encode(model).finish();
}

const ONNX_TYPE_NAMES = {
  float32: 'FLOAT',
  float64: 'DOUBLE',
  int32: 'INT32',
  int64: 'INT64',
  bool: 'BOOL',
  string: 'STRING',
  uint8: 'UINT8',
  int8: 'INT8',
  float16: 'FLOAT16',
} as const satisfies Record<TensorElementType, keyof typeof onnx.TensorProto.DataType>;

describe('OnnxLoadedModel.run element types', () => {
  it.each<[TensorElementType, Tensor['data'], Tensor['data']]>([
    ['float64', [0.1, -1e300], [0.1, -1e300]],
    ['int32', [7, -2147483648], [7, -2147483648]],
    ['int64', [3, -7, 2 ** 40], [3, -7, 2 ** 40]],
    ['uint8', [0, 255], [0, 255]],
    ['int8', [-128, 127], [-128, 127]],
    ['bool', [true, false, true], [true, false, true]],
    ['string', ['a', 'ß', ''], ['a', 'ß', '']],
    ['float16', [1.5, -2, 0.1, 65504, 1e-7], [1.5, -2, 0.0999755859375, 65504, 1.1920928955078125e-7]],
  ])('passes %s tensors through unchanged (to its precision)', async (type, data, expected) => {
    const model = await load(identityOnnx(type));
    expect(model.signature.inputs).toEqual([{ name: 'in', type, shape: [null] }]);
    const { out } = await model.run({ in: { type, shape: [data.length], data } });
    expect(out).toEqual({ type, shape: [data.length], data: expected });
  });
});
