import { describe, expect, it } from 'vitest';
import { servingOpenApi } from '../../../../../functions/serve/openapi.js';
import { isMonitorableKey } from '../../../../../shared/domain/drift/sql-dialect.js';
import type { ModelSignature, Tensor, TensorSpec } from '../../../../../shared/domain/model-signature.js';
import { featureNames, planInputs } from '../../../../../shared/domain/serving/input-plan.js';
import { decodeInferRequest, encodeInferResponse, modelMetadataResponse } from '../../../../../shared/domain/serving/open-inference.js';
import { decodeInstances, encodePredictions, outputsPerInstance } from '../../../../../shared/domain/serving/predict-codec.js';
import { platformError } from '../../../../support/errors.js';

// Signatures as the common converters export them, with the outputs the ONNX adapter serves.

const IRIS_CLASSES = ['setosa', 'versicolor', 'virginica'];
/** skl2onnx LogisticRegression with its ZipMap: the adapter serves the probabilities that fed the ZipMap. */
const SKL2ONNX_CLASSIFIER: ModelSignature = {
  inputs: [{ name: 'float_input', type: 'float32', shape: [null, 4] }],
  outputs: [
    { name: 'output_label', type: 'int64', shape: [null], classes: IRIS_CLASSES },
    { name: 'output_probability', type: 'float32', shape: [null, 3], classes: IRIS_CLASSES, keyedByClass: true },
  ],
};
/** torch.onnx or tf2onnx with a numeric and a categorical input. */
const TWO_INPUTS: ModelSignature = {
  inputs: [
    { name: 'x_num', type: 'float32', shape: [null, 3] },
    { name: 'x_cat', type: 'int64', shape: [null, 2] },
  ],
  outputs: [{ name: 'logits', type: 'float32', shape: [null, 2] }],
};
/** skl2onnx ColumnTransformer: one input per DataFrame column, the categorical ones as strings. */
const COLUMN_TRANSFORMER: ModelSignature = {
  inputs: [
    { name: 'city', type: 'string', shape: [null, 1] },
    { name: 'is_member', type: 'bool', shape: [null, 1] },
    { name: 'amounts', type: 'float64', shape: [null, 2] },
  ],
  outputs: [{ name: 'variable', type: 'float32', shape: [null, 1] }],
};
/** torch.onnx with one matrix input and no feature names. */
const TORCH_MATRIX: ModelSignature = {
  inputs: [{ name: 'input', type: 'float32', shape: [null, 4] }],
  outputs: [{ name: 'output', type: 'float32', shape: [null, 1] }],
};

const LIMITS = { maxBatch: 8 };
const twoInputsPlan = planInputs(TWO_INPUTS, {});
const columnTransformerPlan = planInputs(COLUMN_TRANSFORMER, {});
const torchPlan = planInputs(TORCH_MATRIX, {});

describe('outputs keyed by class', () => {
  const outputs: Record<string, Tensor> = {
    output_label: { type: 'int64', shape: [2], data: [0, 2] },
    output_probability: { type: 'float32', shape: [2, 3], data: [0.9, 0.08, 0.02, 0.1, 0.2, 0.7] },
  };
  const expected = [
    { output_label: 0, output_probability: { setosa: 0.9, versicolor: 0.08, virginica: 0.02 } },
    { output_label: 2, output_probability: { setosa: 0.1, versicolor: 0.2, virginica: 0.7 } },
  ];

  it('answers /predict and logs each row of a ZipMap output as an object by class', () => {
    expect(encodePredictions(SKL2ONNX_CLASSIFIER, outputs, 2)).toEqual(expected);
    expect(outputsPerInstance(SKL2ONNX_CLASSIFIER, outputs, 2)).toEqual(expected);
  });

  it('keeps the classes in column order', () => {
    const [first] = outputsPerInstance(SKL2ONNX_CLASSIFIER, outputs, 2);
    expect(Object.keys(first!['output_probability'] as object)).toEqual(IRIS_CLASSES);
  });

  it('gives one object by class per instance when it is the only output', () => {
    const only: ModelSignature = { inputs: [], outputs: [SKL2ONNX_CLASSIFIER.outputs[1]!] };
    expect(encodePredictions(only, { output_probability: outputs['output_probability']! }, 2)).toEqual(expected.map((row) => row.output_probability));
  });

  const probabilities = (spec: Partial<TensorSpec>): ModelSignature => ({
    inputs: [],
    outputs: [{ name: 'p', type: 'float32', shape: [null, 2], ...spec }],
  });
  const tensor: Record<string, Tensor> = { p: { type: 'float32', shape: [1, 2], data: [0.25, 0.75] } };
  it.each([
    ['classes without keyedByClass', { classes: ['no', 'yes'] }],
    ['classes of the wrong length', { classes: ['no', 'yes', 'maybe'], keyedByClass: true }],
    ['duplicate classes', { classes: ['yes', 'yes'], keyedByClass: true }],
    ['a class that is not a safe key', { classes: ['__proto__', 'yes'], keyedByClass: true }],
  ])('keeps a row an array given %s', (_why, spec) => {
    expect(encodePredictions(probabilities(spec), tensor, 1)).toEqual([[0.25, 0.75]]);
  });

  it('keys integer-like classes too', () => {
    expect(encodePredictions(probabilities({ classes: ['0', '1'], keyedByClass: true }), tensor, 1)).toEqual([{ '0': 0.25, '1': 0.75 }]);
  });

  it('still answers the Open Inference Protocol with the plain tensor and tensor metadata', () => {
    const response = encodeInferResponse({ modelName: 'iris', outputs, signature: SKL2ONNX_CLASSIFIER });
    expect(response.outputs[1]).toEqual({ name: 'output_probability', datatype: 'FP32', shape: [2, 3], data: [0.9, 0.08, 0.02, 0.1, 0.2, 0.7] });
    expect(modelMetadataResponse('iris', 1, SKL2ONNX_CLASSIFIER).outputs).toEqual([
      { name: 'output_label', datatype: 'INT64', shape: [-1] },
      { name: 'output_probability', datatype: 'FP32', shape: [-1, 3] },
    ]);
  });
});

describe('several inputs of fixed width', () => {
  const tensors = {
    x_num: { type: 'float32', shape: [2, 3], data: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6] },
    x_cat: { type: 'int64', shape: [2, 2], data: [1, 4, 0, 7] },
  };
  const logged = [
    { x_num_0: 0.1, x_num_1: 0.2, x_num_2: 0.3, x_cat_0: 1, x_cat_1: 4 },
    { x_num_0: 0.4, x_num_1: 0.5, x_num_2: 0.6, x_cat_0: 0, x_cat_1: 7 },
  ];

  it('logs each value of a wide input as <input>_<index>, names monitoring can read', () => {
    expect(featureNames(twoInputsPlan)).toEqual(['x_num_0', 'x_num_1', 'x_num_2', 'x_cat_0', 'x_cat_1']);
    expect(featureNames(columnTransformerPlan)).toEqual(['city', 'is_member', 'amounts_0', 'amounts_1']);
    expect([...featureNames(twoInputsPlan), ...featureNames(columnTransformerPlan)].every(isMonitorableKey)).toBe(true);
  });

  it('fills each input from objects keyed by input name', () => {
    const instances = [
      { x_cat: [1, 4], x_num: [0.1, 0.2, 0.3] },
      { x_num: [0.4, 0.5, 0.6], x_cat: [0, 7] },
    ];
    const decoded = decodeInstances(twoInputsPlan, { instances }, LIMITS);
    expect(decoded.inputs).toEqual(tensors);
    expect(decoded.features).toEqual(logged);
  });

  it('fills each input from flat arrays of every value in input order', () => {
    const instances = [
      [0.1, 0.2, 0.3, 1, 4],
      [0.4, 0.5, 0.6, 0, 7],
    ];
    const decoded = decodeInstances(twoInputsPlan, { instances }, LIMITS);
    expect(decoded.inputs).toEqual(tensors);
    expect(decoded.features).toEqual(logged);
  });

  it('takes instances keyed by the flat names the log uses, so logged and offline rows score again as they are', () => {
    const decoded = decodeInstances(twoInputsPlan, { instances: logged }, LIMITS);
    expect(decoded.inputs).toEqual(tensors);
    expect(decoded.features).toEqual(logged);
    const [first] = logged as Record<string, unknown>[];
    const { x_cat_1: _, ...short } = first!;
    expect(platformError(() => decodeInstances(twoInputsPlan, { instances: [short] }, LIMITS)).message).toContain("is missing 'x_num', 'x_cat'");
    const bad = platformError(() => decodeInstances(twoInputsPlan, { instances: [{ ...first, x_cat_1: 'four' }] }, LIMITS));
    expect(bad).toMatchObject({ code: 'MODEL.INVALID_INPUT', message: expect.stringContaining('instances[0].x_cat_1: expected an integer') });
  });

  it('takes a scalar or a one-element array for an input of width 1', () => {
    const row = { is_member: true, amounts: [10, 20.5] };
    const decoded = decodeInstances(
      columnTransformerPlan,
      {
        instances: [
          { ...row, city: 'Lyon' },
          { ...row, city: ['Nice'] },
        ],
      },
      LIMITS,
    );
    expect(decoded.inputs['city']).toEqual({ type: 'string', shape: [2, 1], data: ['Lyon', 'Nice'] });
    expect(decoded.inputs['amounts']).toEqual({ type: 'float64', shape: [2, 2], data: [10, 20.5, 10, 20.5] });
    expect(decoded.features[1]).toEqual({ city: 'Nice', is_member: true, amounts_0: 10, amounts_1: 20.5 });
  });

  it('turns a torch.onnx input name into a monitorable log name', () => {
    const plan = planInputs(
      {
        inputs: [
          { name: 'input.1', type: 'float32', shape: [null, 2] },
          { name: 'flag', type: 'bool', shape: [null] },
        ],
        outputs: [],
      },
      {},
    );
    expect(featureNames(plan)).toEqual(['input_1_0', 'input_1_1', 'flag']);
    expect(decodeInstances(plan, { instances: [{ 'input.1': [1, 2], flag: false }] }, LIMITS).features).toEqual([{ input_1_0: 1, input_1_1: 2, flag: false }]);
  });

  it('refuses to plan inputs whose log names would clash', () => {
    const clash: ModelSignature = {
      inputs: [
        { name: 'a', type: 'float32', shape: [null, 2] },
        { name: 'a_1', type: 'float32', shape: [null] },
      ],
      outputs: [],
    };
    const error = platformError(() => planInputs(clash, {}));
    expect(error.code).toBe('MODEL.LOAD_FAILED');
    expect(error.message).toContain("a[1] and feature 'a_1' would both be logged as 'a_1'");
  });

  const goodRow = { x_num: [0.1, 0.2, 0.3], x_cat: [1, 4] };
  it.each([
    [
      'a missing input',
      { x_num: [0.1, 0.2, 0.3] },
      "instances[0] is missing 'x_cat'; each object needs exactly the keys 'x_num' (3 values), 'x_cat' (2 values)",
    ],
    [
      'an extra field',
      { ...goodRow, x_extra: 1 },
      "instances[0] has unknown key(s) 'x_extra'; each object needs exactly the keys 'x_num' (3 values), 'x_cat' (2 values)",
    ],
    ['an array of the wrong width', { ...goodRow, x_num: [0.1, 0.2] }, "instances[0].x_num is an array of 2 but input 'x_num' takes 3 values"],
    ['a scalar for a wide input', { ...goodRow, x_cat: 1 }, 'instances[0].x_cat is 1 but input \'x_cat\' takes 2 values; send "x_cat" as an array of 2 values'],
    [
      'a bad value in a wide input',
      { ...goodRow, x_cat: [1, 4.5] },
      'instances[0].x_cat[1]: expected an integer from -9007199254740991 to 9007199254740991 (int64), got 4.5',
    ],
    ['a flat array of the wrong length', [0.1, 0.2, 0.3, 1], "instances[0] has 4 values but the model takes 5 ('x_num' (3 values), 'x_cat' (2 values))"],
    ['a bad value in a flat array', [0.1, 0.2, 0.3, 1, 'b'], 'instances[0][4] (x_cat[1]): expected an integer'],
  ])('refuses %s, naming it', (_why, instance, fragment) => {
    const error = platformError(() => decodeInstances(twoInputsPlan, { instances: [instance] }, LIMITS));
    expect(error.code).toBe('MODEL.INVALID_INPUT');
    expect(error.message).toContain(fragment);
  });
});

describe('casting JSON values to the input type', () => {
  const row = { city: 'Lyon', is_member: true, amounts: [1, 2] };

  it('passes a number or boolean to a string input as its JSON text', () => {
    const instances = [
      { ...row, city: 75 },
      { ...row, city: 1.5 },
      { ...row, city: false },
    ];
    const decoded = decodeInstances(columnTransformerPlan, { instances }, LIMITS);
    expect(decoded.inputs['city']!.data).toEqual(['75', '1.5', 'false']);
    expect(decoded.features.map((features) => features['city'])).toEqual(['75', '1.5', 'false']);
  });

  it('takes 0 and 1 for a bool input', () => {
    const decoded = decodeInstances(
      columnTransformerPlan,
      {
        instances: [
          ['Lyon', 0, 1, 2],
          ['Nice', 1, 1, 2],
        ],
      },
      LIMITS,
    );
    expect(decoded.inputs['is_member']).toEqual({ type: 'bool', shape: [2, 1], data: [false, true] });
  });

  it('logs the converted value without changing the instance sent', () => {
    const plan = planInputs(
      {
        inputs: [
          { name: 'city', type: 'string', shape: [null, 1] },
          { name: 'is_member', type: 'bool', shape: [null] },
        ],
        outputs: [],
      },
      {},
    );
    const sent = { city: 69, is_member: 1 };
    const decoded = decodeInstances(plan, { instances: [sent, { city: 'Paris', is_member: false }] }, LIMITS);
    expect(decoded.features).toEqual([
      { city: '69', is_member: true },
      { city: 'Paris', is_member: false },
    ]);
    expect(sent).toEqual({ city: 69, is_member: 1 });
  });

  it('still refuses a numeric string for a number input', () => {
    const error = platformError(() => decodeInstances(twoInputsPlan, { instances: [{ x_num: [0.1, '0.2', 0.3], x_cat: [1, 4] }] }, LIMITS));
    expect(error.message).toContain('instances[0].x_num[1]: expected a number within float32 range');
  });
});

describe('a single matrix without feature names', () => {
  it('takes an object keyed by its input name and logs f0..fN-1', () => {
    const fromObject = decodeInstances(torchPlan, { instances: [{ input: [1, 2, 3, 4] }] }, LIMITS);
    expect(fromObject.inputs).toEqual({ input: { type: 'float32', shape: [1, 4], data: [1, 2, 3, 4] } });
    expect(fromObject.features).toEqual([{ f0: 1, f1: 2, f2: 3, f3: 4 }]);
    expect(decodeInstances(torchPlan, { instances: [[1, 2, 3, 4]] }, LIMITS)).toEqual(fromObject);
  });

  it('names the input and its width when the row is short', () => {
    const error = platformError(() => decodeInstances(torchPlan, { instances: [{ input: [1, 2, 3] }] }, LIMITS));
    expect(error.message).toContain("instances[0].input is an array of 3 but input 'input' takes 4 values");
  });

  it('keeps feature names as the keys when the model has them', () => {
    const named = planInputs(TORCH_MATRIX, { feature_names: JSON.stringify(['a', 'b', 'c', 'd']) });
    const error = platformError(() => decodeInstances(named, { instances: [{ input: [1, 2, 3, 4] }] }, LIMITS));
    expect(error.message).toContain("instances[0] is missing 'a', 'b', 'c', 'd' and has unknown key(s) 'input'");
  });
});

describe('Open Inference Protocol for several inputs', () => {
  const body = {
    inputs: [
      {
        name: 'x_num',
        shape: [2, 3],
        datatype: 'FP32',
        data: [
          [0.1, 0.2, 0.3],
          [0.4, 0.5, 0.6],
        ],
      },
      { name: 'x_cat', shape: [2, 2], datatype: 'INT64', data: [1, 4, 0, 7] },
    ],
  };

  it('takes [N, k] tensors by name and logs the same flat names as /predict', () => {
    const request = decodeInferRequest(TWO_INPUTS, body, { ...LIMITS, plan: twoInputsPlan });
    const predict = decodeInstances(
      twoInputsPlan,
      {
        instances: [
          [0.1, 0.2, 0.3, 1, 4],
          [0.4, 0.5, 0.6, 0, 7],
        ],
      },
      LIMITS,
    );
    expect(request.inputs).toEqual(predict.inputs);
    expect(request.features).toEqual(predict.features);
    expect(decodeInferRequest(TWO_INPUTS, body, LIMITS).features).toEqual(predict.features);
  });

  it('refuses a tensor of the wrong width for an input', () => {
    const narrow = { inputs: [body.inputs[0], { name: 'x_cat', shape: [2, 3], datatype: 'INT64', data: [1, 4, 0, 7, 1, 1] }] };
    const error = platformError(() => decodeInferRequest(TWO_INPUTS, narrow, LIMITS));
    expect(error.message).toContain("Input 'x_cat' has shape [2, 3] but the model expects [-1, 2]");
  });

  it('casts numbers for BYTES and 0 or 1 for BOOL as /predict does, without touching the request', () => {
    const data = [75, 'Lyon'];
    const request = decodeInferRequest(
      COLUMN_TRANSFORMER,
      {
        inputs: [
          { name: 'city', shape: [2, 1], datatype: 'BYTES', data },
          { name: 'is_member', shape: [2, 1], datatype: 'BOOL', data: [[1], [0]] },
          { name: 'amounts', shape: [2, 2], datatype: 'FP64', data: [1, 2, 3, 4] },
        ],
      },
      { ...LIMITS, plan: columnTransformerPlan },
    );
    expect(request.inputs['city']!.data).toEqual(['75', 'Lyon']);
    expect(request.inputs['is_member']!.data).toEqual([true, false]);
    expect(data).toEqual([75, 'Lyon']);
    expect(request.features[0]).toEqual({ city: '75', is_member: true, amounts_0: 1, amounts_1: 2 });
  });
});

describe('the OpenAPI document', () => {
  /** The value at `path` in a JSON document. */
  const dig = (value: unknown, ...path: (string | number)[]): unknown => path.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], value);
  const predictOf = (signature: ModelSignature) => dig(servingOpenApi('m', 1, signature, planInputs(signature, {})), 'paths', '/predict', 'post');
  const body = ['requestBody', 'content', 'application/json'];

  it('describes objects keyed by input name, with arrays for wide inputs', () => {
    const predict = predictOf(TWO_INPUTS);
    const [asArray, asObject] = dig(predict, ...body, 'schema', 'properties', 'instances', 'items', 'oneOf') as unknown[];
    expect(asArray).toMatchObject({ type: 'array', minItems: 5, maxItems: 5 });
    expect(asObject).toMatchObject({
      required: ['x_num', 'x_cat'],
      properties: { x_num: { type: 'array', minItems: 3, maxItems: 3, items: { type: 'number' } }, x_cat: { items: { type: 'integer' } } },
    });
    expect(dig(predict, ...body, 'example', 'instances')).toEqual([[0.5, 0.5, 0.5, 1, 1], { x_num: [0.5, 0.5, 0.5], x_cat: [1, 1] }]);
  });

  it('describes a ZipMap output as an object by class', () => {
    const prediction = dig(predictOf(SKL2ONNX_CLASSIFIER), 'responses', '200', 'content', 'application/json', 'schema', 'properties', 'predictions', 'items');
    expect(Object.keys(dig(prediction, 'properties', 'output_probability', 'properties') as object)).toEqual(IRIS_CLASSES);
  });

  it('gives an /infer example with each input of its own shape and datatype', () => {
    const document = servingOpenApi('m', 1, TWO_INPUTS, twoInputsPlan);
    expect(dig(document, 'paths', '/v2/models/m/infer', 'post', ...body, 'example', 'inputs')).toEqual([
      { name: 'x_num', shape: [1, 3], datatype: 'FP32', data: [0.5, 0.5, 0.5] },
      { name: 'x_cat', shape: [1, 2], datatype: 'INT64', data: [1, 1] },
    ]);
  });
});
