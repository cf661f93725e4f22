import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../../../../shared/domain/errors.js';
import type { ModelSignature, Tensor, TensorElementType } from '../../../../../shared/domain/model-signature.js';
import { featureNames, planInputs } from '../../../../../shared/domain/serving/input-plan.js';
import {
  DATATYPE_OF,
  decodeInferRequest,
  elementTypeOf,
  encodeInferResponse,
  modelMetadataResponse,
} from '../../../../../shared/domain/serving/open-inference.js';
import { decodeInstances, encodePredictions, outputsPerInstance, predictionsAndLogged } from '../../../../../shared/domain/serving/predict-codec.js';
import { BINARY_CLASSIFIER, REGRESSOR } from '../../../../support/models.js';
import { platformError } from '../../../../support/errors.js';

/** The signature `binaryClassifierOnnx()` loads with. */
const CLASSIFIER: ModelSignature = {
  inputs: [{ name: 'features', type: 'float32', shape: [null, 4] }],
  outputs: [
    { name: 'probability', type: 'float32', shape: [null, 1] },
    { name: 'label', type: 'int64', shape: [null, 1] },
  ],
};
/** The signature `regressorOnnx()` loads with. */
const REGRESSION: ModelSignature = {
  inputs: [{ name: 'features', type: 'float32', shape: [null, 3] }],
  outputs: [{ name: 'value', type: 'float32', shape: [null, 1] }],
};
/** One input per column, as a pipeline exported from a DataFrame has. */
const PER_COLUMN: ModelSignature = {
  inputs: [
    { name: 'age', type: 'int64', shape: [null, 1] },
    { name: 'income', type: 'float64', shape: [null] },
    { name: 'country', type: 'string', shape: [null, 1] },
    { name: 'is_member', type: 'bool', shape: [null] },
  ],
  outputs: [{ name: 'score', type: 'float32', shape: [null] }],
};

const namesMetadata = (names: readonly string[]) => ({ feature_names: JSON.stringify(names) });
const regressorPlan = planInputs(REGRESSION, namesMetadata(REGRESSOR.featureNames));
const unnamedPlan = planInputs(CLASSIFIER, namesMetadata(BINARY_CLASSIFIER.featureNames.slice(1)));
const columnsPlan = planInputs(PER_COLUMN, {});
const LIMITS = { maxBatch: 4 };

function expectRefused(action: () => unknown, code: ErrorCode, fragment: string): void {
  const error = platformError(action);
  expect(error.code).toBe(code);
  expect(error.message).toContain(fragment);
}

describe('planInputs', () => {
  it('maps a [batch, F] input onto the feature names the model carries', () => {
    expect(regressorPlan).toMatchObject({ layout: 'matrix', objectsLogAsSent: true, fixedBatch: undefined });
    expect(regressorPlan.fields.map((field) => field.key)).toEqual(['x0', 'x1', 'x2']);
    expect(featureNames(regressorPlan)).toEqual(['x0', 'x1', 'x2']);
  });

  it.each([
    ['no metadata', {}],
    ['names of the wrong length', namesMetadata(['a', 'b'])],
    ['names that are not JSON', { feature_names: 'a,b,c,d' }],
    ['duplicate names', namesMetadata(['a', 'a', 'b', 'c'])],
  ])('falls back to f0..fN-1 and keys objects by the input name given %s', (_why, metadata) => {
    const plan = planInputs(CLASSIFIER, metadata);
    expect(plan.fields).toMatchObject([{ key: 'features', width: 4 }]);
    expect(featureNames(plan)).toEqual(['f0', 'f1', 'f2', 'f3']);
  });

  it('maps several [batch] or [batch, 1] inputs onto one key each', () => {
    expect(columnsPlan).toMatchObject({ layout: 'columns', objectsLogAsSent: true });
    expect(featureNames(columnsPlan)).toEqual(['age', 'income', 'country', 'is_member']);
  });

  const spec = (name: string, shape: (number | null)[], type: TensorElementType = 'float32') => ({ name, type, shape });
  it.each([
    ['no inputs', [], 'the model declares no inputs'],
    ['a dynamic feature dimension', [spec('x', [null, null])], "input 'x' has a dynamic feature dimension [?, ?]"],
    ['a string matrix', [spec('x', [null, 3], 'string')], "input 'x' is a string matrix"],
    [
      'an image input',
      [spec('image', [null, 3, 224, 224])],
      "input 'image' has shape [?, 3, 224, 224]; its only input must be [batch, features], [batch] or [batch, 1]",
    ],
    [
      'a dynamic width among several inputs',
      [spec('a', [null]), spec('b', [null, null])],
      "input 'b' has shape [?, ?]; with several inputs, each must be [batch], [batch, 1] or [batch, k] with k fixed",
    ],
    [
      'an image among several inputs',
      [spec('a', [null]), spec('image', [null, 3, 8, 8])],
      "input 'image' has shape [?, 3, 8, 8]; with several inputs, each must be [batch], [batch, 1] or [batch, k] with k fixed",
    ],
    ['inputs with different fixed batches', [spec('a', [1]), spec('b', [2])], 'its inputs disagree on the batch dimension (1 vs 2)'],
  ])('refuses a model with %s', (_why, inputs, fragment) => {
    expectRefused(() => planInputs({ inputs, outputs: [] }, {}), 'MODEL.LOAD_FAILED', `cannot be served by /predict: ${fragment}`);
  });
});

describe('decodeInstances', () => {
  const rows = [
    [1, 2, 3],
    [4.5, -1, 0],
  ];

  it('builds the same tensor from arrays and from objects in any key order', () => {
    const fromArrays = decodeInstances(regressorPlan, { instances: rows }, LIMITS);
    const fromObjects = decodeInstances(
      regressorPlan,
      {
        instances: [
          { x2: 3, x0: 1, x1: 2 },
          { x0: 4.5, x1: -1, x2: 0 },
        ],
      },
      LIMITS,
    );
    expect(fromArrays.inputs).toEqual({ features: { type: 'float32', shape: [2, 3], data: [1, 2, 3, 4.5, -1, 0] } });
    expect(fromObjects.inputs).toEqual(fromArrays.inputs);
    expect(fromArrays.count).toBe(2);
    expect(fromArrays.features).toEqual([
      { x0: 1, x1: 2, x2: 3 },
      { x0: 4.5, x1: -1, x2: 0 },
    ]);
    expect(fromObjects.features).toEqual(fromArrays.features);
  });

  it('logs array instances of an unnamed model under f0..fN-1', () => {
    const { features } = decodeInstances(unnamedPlan, { instances: [[0.1, 0.2, 0.3, 0.4]] }, LIMITS);
    expect(features).toEqual([{ f0: 0.1, f1: 0.2, f2: 0.3, f3: 0.4 }]);
  });

  it('fills one tensor per input for a model with one input per column', () => {
    const instances = [{ age: 41, income: 52000.5, country: 'FR', is_member: true }, [29, 31000, 'DE', false]];
    const objects = decodeInstances(columnsPlan, { instances: [instances[0]!, { age: 29, income: 31000, country: 'DE', is_member: false }] }, LIMITS);
    const arrays = decodeInstances(columnsPlan, { instances: [[41, 52000.5, 'FR', true], instances[1]] }, LIMITS);
    expect(objects.inputs).toEqual({
      age: { type: 'int64', shape: [2, 1], data: [41, 29] },
      income: { type: 'float64', shape: [2], data: [52000.5, 31000] },
      country: { type: 'string', shape: [2, 1], data: ['FR', 'DE'] },
      is_member: { type: 'bool', shape: [2], data: [true, false] },
    });
    expect(arrays.inputs).toEqual(objects.inputs);
    expect(arrays.features[1]).toEqual({ age: 29, income: 31000, country: 'DE', is_member: false });
  });

  const columnsRow = { age: 41, income: 52000.5, country: 'FR', is_member: true };
  it.each([
    ['a body that is not an object', regressorPlan, 'x0=1', 'The request body must be a JSON object like {"instances": [...]}, got the string "x0=1"'],
    ['a bare array body', regressorPlan, rows, 'must be a JSON object'],
    ['a body without instances', regressorPlan, { rows }, 'The request body has no "instances" field'],
    ['an Open Inference Protocol body', regressorPlan, { inputs: [] }, 'POST to /v2/models/<name>/infer'],
    ['instances that are not an array', regressorPlan, { instances: { x0: 1 } }, '"instances" must be an array with one entry per prediction, got an object'],
    ['no instances', regressorPlan, { instances: [] }, '"instances" is empty'],
    [
      'more instances than maxBatch',
      regressorPlan,
      { instances: [...rows, ...rows, ...rows] },
      '"instances" has 6 entries but at most 4 are accepted per request',
    ],
    ['an array after an object', regressorPlan, { instances: [{ x0: 1, x1: 2, x2: 3 }, [1, 2, 3]] }, 'instances[1] is an array but instances[0] is an object'],
    ['an object after an array', regressorPlan, { instances: [[1, 2, 3], { x0: 1, x1: 2, x2: 3 }] }, 'instances[1] is an object but instances[0] is an array'],
    ['a bare number instance', regressorPlan, { instances: [7] }, 'instances[0] is 7; each instance must be an array of values or an object'],
    [
      'an array of the wrong length',
      regressorPlan,
      {
        instances: [
          [1, 2, 3],
          [1, 2],
        ],
      },
      "instances[1] has 2 values but the model takes 3 ('x0', 'x1', 'x2')",
    ],
    [
      'a missing feature',
      regressorPlan,
      { instances: [{ x0: 1, x1: 2 }] },
      "instances[0] is missing 'x2'; each object needs exactly the keys 'x0', 'x1', 'x2'",
    ],
    ['an unknown feature', regressorPlan, { instances: [{ x0: 1, x1: 2, x2: 3, x3: 4 }] }, "instances[0] has unknown key(s) 'x3'"],
    ['a misspelt feature', regressorPlan, { instances: [{ x0: 1, x1: 2, X2: 3 }] }, "instances[0] is missing 'x2' and has unknown key(s) 'X2'"],
    [
      'the string "NaN"',
      regressorPlan,
      { instances: [[1, 'NaN', 3]] },
      `instances[0][1] (feature 'x1'): expected a number within float32 range (±3.4028234663852886e+38), got the string "NaN" (send values as JSON numbers`,
    ],
    [
      'a null value',
      regressorPlan,
      {
        instances: [
          [1, 2, 3],
          [1, null, 3],
        ],
      },
      "instances[1][1] (feature 'x1'): expected a number within float32 range (±3.4028234663852886e+38), got null (missing values are not accepted",
    ],
    [
      'a boolean for a float',
      regressorPlan,
      { instances: [{ x0: true, x1: 2, x2: 3 }] },
      'instances[0].x0: expected a number within float32 range (±3.4028234663852886e+38), got the boolean true',
    ],
    [
      'a nested array',
      regressorPlan,
      { instances: [[1, [2], 3]] },
      "instances[0][1] (feature 'x1'): expected a number within float32 range (±3.4028234663852886e+38), got an array of 1 (each position takes a single value)",
    ],
    ['a value beyond float32', regressorPlan, { instances: [[1e39, 2, 3]] }, 'got 1e+39'],
    [
      'a fraction for an int64 input',
      columnsPlan,
      { instances: [{ ...columnsRow, age: 41.5 }] },
      'instances[0].age: expected an integer from -9007199254740991 to 9007199254740991 (int64), got 41.5',
    ],
    [
      'an int64 beyond what JSON numbers hold exactly',
      columnsPlan,
      { instances: [[2 ** 60, 1, 'FR', true]] },
      "instances[0][0] (feature 'age'): expected an integer from -9007199254740991",
    ],
    [
      'null for a string input',
      columnsPlan,
      { instances: [{ ...columnsRow, country: null }] },
      'instances[0].country: expected a string, or a number or boolean taken as its text (string), got null',
    ],
    ['2 for a bool input', columnsPlan, { instances: [{ ...columnsRow, is_member: 2 }] }, 'instances[0].is_member: expected true, false, 0 or 1 (bool), got 2'],
    [
      'the string "true" for a bool input',
      columnsPlan,
      { instances: [{ ...columnsRow, is_member: 'true' }] },
      'instances[0].is_member: expected true, false, 0 or 1 (bool), got the string "true" (send values as JSON numbers or booleans, not strings)',
    ],
    [
      'objects by column name for a model without feature_names',
      unnamedPlan,
      { instances: [{ f0: 1, f1: 2, f2: 3, f9: 4 }] },
      "instances[0] is missing 'features' and has unknown key(s) 'f0', 'f1', 'f2', 'f9'; each object needs exactly the keys 'features' (4 values) (this model carries no feature names, so an object takes the whole row under the input's name",
    ],
  ])('refuses %s', (_why, plan, body, fragment) => {
    expectRefused(() => decodeInstances(plan, body, LIMITS), 'MODEL.INVALID_INPUT', fragment);
  });

  it('holds a model with a fixed batch dimension to that many instances', () => {
    const plan = planInputs({ inputs: [{ name: 'x', type: 'float32', shape: [1, 2] }], outputs: [] }, {});
    expect(decodeInstances(plan, { instances: [[1, 2]] }, LIMITS).inputs['x']).toEqual({ type: 'float32', shape: [1, 2], data: [1, 2] });
    expectRefused(
      () =>
        decodeInstances(
          plan,
          {
            instances: [
              [1, 2],
              [3, 4],
            ],
          },
          LIMITS,
        ),
      'MODEL.INVALID_INPUT',
      'send exactly 1 instance(s) per request, not 2',
    );
  });
});

describe('encodePredictions', () => {
  const classifierOutputs: Record<string, Tensor> = {
    probability: { type: 'float32', shape: [2, 1], data: [0.73, 0.2] },
    label: { type: 'int64', shape: [2, 1], data: [1, 0] },
  };

  it('gives an object by output name per instance for several outputs', () => {
    const expected = [
      { probability: 0.73, label: 1 },
      { probability: 0.2, label: 0 },
    ];
    expect(encodePredictions(CLASSIFIER, classifierOutputs, 2)).toEqual(expected);
    expect(outputsPerInstance(CLASSIFIER, classifierOutputs, 2)).toEqual(expected);
  });

  it('gives a scalar per instance for a single output of width 1', () => {
    const outputs: Record<string, Tensor> = { value: { type: 'float32', shape: [2, 1], data: [12.5, 9] } };
    expect(encodePredictions(REGRESSION, outputs, 2)).toEqual([12.5, 9]);
    expect(outputsPerInstance(REGRESSION, outputs, 2)).toEqual([{ value: 12.5 }, { value: 9 }]);
  });

  it('builds the answer and the log records together exactly as the two functions do apart', () => {
    const regression: Record<string, Tensor> = { value: { type: 'float32', shape: [2, 1], data: [12.5, 9] } };
    for (const [signature, outputs] of [
      [REGRESSION, regression],
      [CLASSIFIER, classifierOutputs],
    ] as const) {
      expect(predictionsAndLogged(signature, outputs, 2)).toEqual({
        predictions: encodePredictions(signature, outputs, 2),
        logged: outputsPerInstance(signature, outputs, 2),
      });
    }
  });

  it.each([
    ['[batch]', [2], [0.5, 0.25], [0.5, 0.25]],
    [
      '[batch, k]',
      [2, 3],
      [0.1, 0.2, 0.7, 0.6, 0.3, 0.1],
      [
        [0.1, 0.2, 0.7],
        [0.6, 0.3, 0.1],
      ],
    ],
    [
      '[batch, 2, 2]',
      [2, 2, 2],
      [1, 2, 3, 4, 5, 6, 7, 8],
      [
        [
          [1, 2],
          [3, 4],
        ],
        [
          [5, 6],
          [7, 8],
        ],
      ],
    ],
  ])('shapes a single %s output per instance', (_why, shape, data, expected) => {
    const signature: ModelSignature = { inputs: [], outputs: [{ name: 'scores', type: 'float32', shape: [null, ...shape.slice(1)] }] };
    expect(encodePredictions(signature, { scores: { type: 'float32', shape, data } }, 2)).toEqual(expected);
  });

  it('fails loudly when the model returns fewer rows than instances', () => {
    expect(() => encodePredictions(REGRESSION, { value: { type: 'float32', shape: [1, 1], data: [1] } }, 2)).toThrow('2 instance(s) were sent');
  });
});

/** The inference request example of the Open Inference Protocol REST spec, verbatim. */
const SPEC_REQUEST = {
  id: '42',
  inputs: [
    { name: 'input0', shape: [2, 2], datatype: 'UINT32', data: [1, 2, 3, 4] },
    { name: 'input1', shape: [3], datatype: 'BOOL', data: [true] },
  ],
  outputs: [{ name: 'output0' }],
};
/** The spec's model, adapted to datatypes the runner has and to a shared batch dimension. */
const SPEC_MODEL: ModelSignature = {
  inputs: [
    { name: 'input0', type: 'int32', shape: [null, 2] },
    { name: 'input1', type: 'bool', shape: [null] },
  ],
  outputs: [
    { name: 'output0', type: 'float32', shape: [null, 2] },
    { name: 'output1', type: 'int64', shape: [null] },
  ],
};
const ADAPTED_REQUEST = {
  ...SPEC_REQUEST,
  inputs: [
    { name: 'input0', shape: [2, 2], datatype: 'INT32', data: [1, 2, 3, 4] },
    { name: 'input1', shape: [2], datatype: 'BOOL', data: [true, false] },
  ],
};

describe('Open Inference Protocol', () => {
  it('maps every element type to its protocol datatype and back', () => {
    for (const [type, datatype] of Object.entries(DATATYPE_OF)) expect(elementTypeOf(datatype)).toBe(type);
    expect(Object.values(DATATYPE_OF).sort()).toEqual(['BOOL', 'BYTES', 'FP16', 'FP32', 'FP64', 'INT32', 'INT64', 'INT8', 'UINT8']);
    expect(elementTypeOf('UINT32')).toBeUndefined();
  });

  it('describes a model for the metadata endpoint, dynamic dimensions as -1', () => {
    expect(modelMetadataResponse('churn', 3, CLASSIFIER)).toEqual({
      name: 'churn',
      versions: ['3'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [
        { name: 'probability', datatype: 'FP32', shape: [-1, 1] },
        { name: 'label', datatype: 'INT64', shape: [-1, 1] },
      ],
    });
  });

  it("decodes the spec's example request, adapted to the model", () => {
    expect(decodeInferRequest(SPEC_MODEL, ADAPTED_REQUEST, LIMITS)).toEqual({
      id: '42',
      inputs: { input0: { type: 'int32', shape: [2, 2], data: [1, 2, 3, 4] }, input1: { type: 'bool', shape: [2], data: [true, false] } },
      requestedOutputs: ['output0'],
      count: 2,
      features: [
        { input0_0: 1, input0_1: 2, input1: true },
        { input0_0: 3, input0_1: 4, input1: false },
      ],
    });
  });

  it("refuses the spec's example request verbatim: the model's input0 is INT32", () => {
    expectRefused(
      () => decodeInferRequest(SPEC_MODEL, SPEC_REQUEST, LIMITS),
      'MODEL.INVALID_INPUT',
      "Input 'input0' has datatype UINT32 but the model expects INT32",
    );
  });

  it("encodes the spec's example response", () => {
    const outputs: Record<string, Tensor> = {
      output0: { type: 'float32', shape: [3, 2], data: [1.0, 1.1, 2.0, 2.1, 3.0, 3.1] },
      output1: { type: 'int64', shape: [3], data: [0, 1, 2] },
    };
    expect(encodeInferResponse({ modelName: 'mymodel', modelVersion: 7, id: '42', outputs, signature: SPEC_MODEL, requestedOutputs: ['output0'] })).toEqual({
      model_name: 'mymodel',
      model_version: '7',
      id: '42',
      outputs: [{ name: 'output0', shape: [3, 2], datatype: 'FP32', data: [1.0, 1.1, 2.0, 2.1, 3.0, 3.1] }],
    });
  });

  it('returns every output, in signature order, when none were requested', () => {
    const outputs: Record<string, Tensor> = {
      label: { type: 'int64', shape: [1, 1], data: [1] },
      probability: { type: 'float32', shape: [1, 1], data: [0.8] },
    };
    const response = encodeInferResponse({ modelName: 'churn', outputs, signature: CLASSIFIER });
    expect(response).toEqual({
      model_name: 'churn',
      outputs: [
        { name: 'probability', datatype: 'FP32', shape: [1, 1], data: [0.8] },
        { name: 'label', datatype: 'INT64', shape: [1, 1], data: [1] },
      ],
    });
  });

  it('flattens nested row-major data and logs rows by feature name', () => {
    const body = {
      inputs: [
        {
          name: 'features',
          shape: [2, 4],
          datatype: 'FP32',
          data: [
            [6.8, 2.8, 4.8, 1.4],
            [6.0, 3.4, 4.5, 1.6],
          ],
        },
      ],
    };
    const irisPlan = planInputs(CLASSIFIER, namesMetadata(['sepal_length', 'sepal_width', 'petal_length', 'petal_width']));
    const request = decodeInferRequest(CLASSIFIER, body, { ...LIMITS, plan: irisPlan });
    expect(request.inputs['features']).toEqual({ type: 'float32', shape: [2, 4], data: [6.8, 2.8, 4.8, 1.4, 6.0, 3.4, 4.5, 1.6] });
    expect(request.features[1]).toEqual({ sepal_length: 6.0, sepal_width: 3.4, petal_length: 4.5, petal_width: 1.6 });
    expect(decodeInferRequest(CLASSIFIER, body, LIMITS).features[0]).toEqual({ f0: 6.8, f1: 2.8, f2: 4.8, f3: 1.4 });
    expect(request).not.toHaveProperty('id');
    expect(request).not.toHaveProperty('requestedOutputs');
  });

  it('takes a missing value as NaN in an inference request, flat or nested, only when the version says the model can', () => {
    const flat = { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [6.8, null, 'NaN', 1.4] }] };
    const nested = { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [[6.8, null, 4.8, 1.4]] }] };
    const plan = planInputs(CLASSIFIER, {}, { 'inputs.missing': 'nan' });
    expect(decodeInferRequest(CLASSIFIER, flat, { ...LIMITS, plan }).inputs['features']!.data).toEqual([6.8, Number.NaN, Number.NaN, 1.4]);
    expect(decodeInferRequest(CLASSIFIER, nested, { ...LIMITS, plan }).inputs['features']!.data).toEqual([6.8, Number.NaN, 4.8, 1.4]);
    expectRefused(() => decodeInferRequest(CLASSIFIER, flat, { ...LIMITS, plan: planInputs(CLASSIFIER, {}) }), 'MODEL.INVALID_INPUT', 'inputs.missing=nan');
  });

  const features = (shape: unknown, data: unknown, datatype: unknown = 'FP32') => ({ name: 'features', shape, datatype, data });
  const row = [0.1, 0.2, 0.3, 0.4];
  it.each([
    ['a body that is not an object', [], 'The request body must be a JSON object like {"inputs"'],
    ['a body without inputs', { instances: [row] }, '"inputs" must be a non-empty array of input tensors, got nothing'],
    ['an empty inputs array', { inputs: [] }, '"inputs" must be a non-empty array of input tensors, got an array of 0'],
    ['an id that is not a string', { id: 42, inputs: [features([1, 4], row)] }, '"id" must be a string, got 42'],
    ['an input that is not an object', { inputs: ['features'] }, 'inputs[0] must be an object with "name", "shape", "datatype" and "data"'],
    ['an input without a name', { inputs: [{ shape: [1, 4], datatype: 'FP32', data: row }] }, 'inputs[0].name must be a string, got nothing'],
    [
      'an unknown input',
      { inputs: [features([1, 4], row), { ...features([1, 4], row), name: 'extra' }] },
      "inputs[1] is named 'extra', which is not an input of this model; its inputs are 'features'",
    ],
    ['an input given twice', { inputs: [features([1, 4], row), features([1, 4], row)] }, "Input 'features' is given more than once"],
    [
      'a datatype mismatch',
      { inputs: [features([1, 4], row, 'FP64')] },
      "Input 'features' has datatype FP64 but the model expects FP32; send its data as FP32",
    ],
    [
      'a datatype outside the protocol',
      { inputs: [features([1, 4], row, 'FLOAT32')] },
      "Input 'features' has unknown datatype FLOAT32 but the model expects FP32",
    ],
    ['a shape of the wrong rank', { inputs: [features([4], row)] }, "Input 'features' has shape [4] but the model expects [-1, 4] (-1 is any size)"],
    ['a shape with the wrong feature count', { inputs: [features([2, 2], row)] }, "Input 'features' has shape [2, 2] but the model expects [-1, 4]"],
    [
      'a negative dimension',
      { inputs: [features([-1, 4], row)] },
      'Input \'features\' needs "shape" as an array of non-negative integers such as [-1, 4] (-1 is any size), got [-1,4]',
    ],
    ['data shorter than the shape', { inputs: [features([2, 4], [...row, 1, 2])] }, 'Input \'features\' has 6 values in "data" but shape [2, 4] needs 8'],
    [
      'nested data that disagrees with the shape',
      { inputs: [features([2, 4], [row, [1, 2, 3]])] },
      "Input 'features' data[1] should be an array of 4 (axis 1 of shape [2, 4]), got an array of 3",
    ],
    [
      'a bad value in nested data',
      { inputs: [features([1, 4], [[0.1, 'NaN', 0.3, 0.4]])] },
      `Input 'features' data[0][1]: expected a number within float32 range (±3.4028234663852886e+38), got the string "NaN"`,
    ],
    [
      'null in flat data',
      { inputs: [features([1, 4], [0.1, null, 0.3, 0.4])] },
      "Input 'features' data[1]: expected a number within float32 range (±3.4028234663852886e+38), got null",
    ],
    [
      'data that is not an array',
      { inputs: [features([1, 4], '0.1,0.2,0.3,0.4')] },
      `Input 'features' needs "data" as an array, got the string "0.1,0.2,0.3,0.4"`,
    ],
    [
      'a batch over the limit',
      { inputs: [features([5, 4], new Array(20).fill(0))] },
      "Input 'features' has a batch of 5 (shape[0]) but at most 4 are accepted per request",
    ],
    ['an empty batch', { inputs: [features([0, 4], [])] }, "Input 'features' has an empty batch (shape[0] is 0)"],
    [
      'an unknown requested output',
      { inputs: [features([1, 4], row)], outputs: [{ name: 'probability' }, { name: 'score' }] },
      "outputs[1] requests 'score', which is not an output of this model; its outputs are 'probability', 'label'",
    ],
    [
      'binary tensor data',
      { inputs: [{ ...features([1, 4], row), parameters: { binary_data_size: 16 } }] },
      "Input 'features' uses the binary tensor data extension, which is not supported",
    ],
  ])('refuses %s', (_why, body, fragment) => {
    expectRefused(() => decodeInferRequest(CLASSIFIER, body, LIMITS), 'MODEL.INVALID_INPUT', fragment);
  });

  it.each([
    ['a missing input', { inputs: [ADAPTED_REQUEST.inputs[0]] }, "The request lacks input(s) 'input1'; this model needs 'input0', 'input1'"],
    [
      'inputs with different batch sizes',
      { inputs: [ADAPTED_REQUEST.inputs[0], { name: 'input1', shape: [3], datatype: 'BOOL', data: [true, true, false] }] },
      "Input 'input1' has batch size 3 but the inputs before it have 2",
    ],
  ])('refuses %s for a model with several inputs', (_why, body, fragment) => {
    expectRefused(() => decodeInferRequest(SPEC_MODEL, body, LIMITS), 'MODEL.INVALID_INPUT', fragment);
  });
});
