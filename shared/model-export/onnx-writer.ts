import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { FEATURE_NAMES_METADATA_KEY } from '../domain/model-signature.js';

const { onnx } = onnxProto;
const { DataType } = onnx.TensorProto;

/** Options for exporting a fitted logistic regression as an ONNX binary classifier. */
export interface LogisticRegressionOnnxOptions {
  weights: number[];
  intercept: number;
  featureNames?: string[];
  inputName?: string;
  /** A row is labelled 1 when its probability is at least this value. */
  threshold?: number;
}

/** Options for exporting a fitted linear regression as an ONNX regressor. */
export interface LinearRegressionOnnxOptions {
  weights: number[];
  intercept: number;
  featureNames?: string[];
  inputName?: string;
}

const OPSET_VERSION = 13;
const IR_VERSION = 8;
const PRODUCER_NAME = 'mlops-platform';
const BATCH_DIMENSION = 'batch';
// Names the writers give their own tensors; the input must not reuse one of them.
const RESERVED_NAMES = ['weights', 'intercept', 'weighted_sum', 'linear_score', 'threshold', 'is_positive', 'probability', 'label', 'value'];

type Dimension = number | string;

interface GraphParts {
  name: string;
  nodes: OnnxTypes.INodeProto[];
  initializers: OnnxTypes.ITensorProto[];
  inputs: OnnxTypes.IValueInfoProto[];
  outputs: OnnxTypes.IValueInfoProto[];
  metadata: Record<string, string>;
}

/** Exports a logistic regression: outputs `probability` (sigmoid of w·x + b) and `label` (probability >= threshold), both [batch, 1]. */
export function logisticRegressionToOnnx({
  weights,
  intercept,
  featureNames,
  inputName = 'features',
  threshold = 0.5,
}: LogisticRegressionOnnxOptions): Uint8Array {
  assertLinearModel(weights, intercept, featureNames, inputName);
  if (!(threshold >= 0 && threshold <= 1)) throw new RangeError(`threshold must be within [0, 1], got ${threshold}`);
  return buildOnnxModel({
    name: 'logistic_regression',
    nodes: [
      ...linearScoreNodes(inputName, 'linear_score'),
      node('Sigmoid', ['linear_score'], ['probability']),
      node('GreaterOrEqual', ['probability', 'threshold'], ['is_positive']),
      node('Cast', ['is_positive'], ['label'], [integerAttribute('to', DataType.INT64)]),
    ],
    initializers: [...linearInitializers(weights, intercept), floatInitializer('threshold', [1], [threshold])],
    inputs: [tensorValueInfo(inputName, DataType.FLOAT, [BATCH_DIMENSION, weights.length])],
    outputs: [tensorValueInfo('probability', DataType.FLOAT, [BATCH_DIMENSION, 1]), tensorValueInfo('label', DataType.INT64, [BATCH_DIMENSION, 1])],
    metadata: featureNamesMetadata(featureNames),
  });
}

/** Exports a linear regression: outputs `value` = w·x + b as float32 [batch, 1]. */
export function linearRegressionToOnnx({ weights, intercept, featureNames, inputName = 'features' }: LinearRegressionOnnxOptions): Uint8Array {
  assertLinearModel(weights, intercept, featureNames, inputName);
  return buildOnnxModel({
    name: 'linear_regression',
    nodes: linearScoreNodes(inputName, 'value'),
    initializers: linearInitializers(weights, intercept),
    inputs: [tensorValueInfo(inputName, DataType.FLOAT, [BATCH_DIMENSION, weights.length])],
    outputs: [tensorValueInfo('value', DataType.FLOAT, [BATCH_DIMENSION, 1])],
    metadata: featureNamesMetadata(featureNames),
  });
}

function buildOnnxModel({ name, nodes, initializers, inputs, outputs, metadata }: GraphParts): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: PRODUCER_NAME,
    opsetImport: [{ domain: '', version: OPSET_VERSION }],
    graph: { name, node: nodes, initializer: initializers, input: inputs, output: outputs },
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  });
  // protobufjs may hand back a slice of Node's shared Buffer pool; copy so callers own plain bytes.
  return new Uint8Array(onnx.ModelProto.encode(model).finish());
}

function linearScoreNodes(inputName: string, outputName: string): OnnxTypes.INodeProto[] {
  return [node('MatMul', [inputName, 'weights'], ['weighted_sum']), node('Add', ['weighted_sum', 'intercept'], [outputName])];
}

function linearInitializers(weights: number[], intercept: number): OnnxTypes.ITensorProto[] {
  return [floatInitializer('weights', [weights.length, 1], weights), floatInitializer('intercept', [1], [intercept])];
}

function node(opType: string, input: string[], output: string[], attribute: OnnxTypes.IAttributeProto[] = []): OnnxTypes.INodeProto {
  return { opType, input, output, attribute, name: `${opType}_${output[0]}` };
}

function integerAttribute(name: string, value: number): OnnxTypes.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}

function floatInitializer(name: string, dims: number[], values: number[]): OnnxTypes.ITensorProto {
  return { name, dims, dataType: DataType.FLOAT, floatData: values };
}

function tensorValueInfo(name: string, elemType: OnnxTypes.TensorProto.DataType, dims: Dimension[]): OnnxTypes.IValueInfoProto {
  const dim = dims.map((size) => (typeof size === 'string' ? { dimParam: size } : { dimValue: size }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

function featureNamesMetadata(featureNames: string[] | undefined): Record<string, string> {
  return featureNames ? { [FEATURE_NAMES_METADATA_KEY]: JSON.stringify(featureNames) } : {};
}

// Bad coefficients are a bug in the caller (e.g. a diverged fit), so they fail loudly at export time.
function assertLinearModel(weights: number[], intercept: number, featureNames: string[] | undefined, inputName: string): void {
  if (weights.length === 0) throw new RangeError('weights must hold at least one coefficient');
  if (![...weights, intercept].every(Number.isFinite)) throw new RangeError('weights and intercept must be finite numbers');
  if (featureNames && featureNames.length !== weights.length) {
    throw new RangeError(`featureNames has ${featureNames.length} names but weights has ${weights.length} coefficients`);
  }
  if (RESERVED_NAMES.includes(inputName)) {
    throw new RangeError(`inputName '${inputName}' clashes with a tensor name the model uses internally`);
  }
}
