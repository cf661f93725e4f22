import { createHash } from 'node:crypto';
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import type { ModelSignature } from '../../shared/domain/model-signature.js';
import type { ModelVersion } from '../../shared/domain/registry.js';
import { FEATURE_NAMES_METADATA_KEY } from '../../shared/domain/model-signature.js';
import { logisticRegressionToOnnx } from '../../shared/model-export/onnx-writer.js';

const { onnx } = onnxProto;
const { DataType } = onnx.TensorProto;

/** Coefficients of the benchmark classifier: the 4-feature logistic regression design.md measured. */
export const CLASSIFIER = { weights: [0.8, -0.5, 0.3, 1.2], intercept: -0.2, featureNames: ['f0', 'f1', 'f2', 'f3'] } as const;

/**
 * The small model: a 4-feature logistic regression (MatMul, Add, Sigmoid), a few hundred bytes. Another
 * `intercept` makes another version of it (different bytes, same shape), for promotions.
 */
export function smallModelOnnx(intercept: number = CLASSIFIER.intercept): Uint8Array {
  return logisticRegressionToOnnx({ weights: [...CLASSIFIER.weights], intercept, featureNames: [...CLASSIFIER.featureNames] });
}

/**
 * The large model: the same classifier computed through a hidden layer `hiddenUnits` wide
 * (features·W1 then ·W2, with W1 = w/H and W2 = 1, so the output equals the small model's up to
 * rounding). Every weight is used, so onnxruntime cannot drop them; 2.6 M units make ~52 MB.
 */
export function wideModelOnnx(hiddenUnits = 2_621_440): Uint8Array {
  const { weights, intercept, featureNames } = CLASSIFIER;
  const first = new Float32Array(weights.length * hiddenUnits);
  for (let feature = 0; feature < weights.length; feature++) first.fill(weights[feature]! / hiddenUnits, feature * hiddenUnits, (feature + 1) * hiddenUnits);
  const second = new Float32Array(hiddenUnits).fill(1);
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'mlops-platform-bench',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'wide_logistic_regression',
      node: [
        node('MatMul', ['features', 'hidden_weights'], ['hidden']),
        node('MatMul', ['hidden', 'output_weights'], ['weighted_sum']),
        node('Add', ['weighted_sum', 'intercept'], ['linear_score']),
        node('Sigmoid', ['linear_score'], ['probability']),
        node('GreaterOrEqual', ['probability', 'threshold'], ['is_positive']),
        {
          opType: 'Cast',
          input: ['is_positive'],
          output: ['label'],
          attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: DataType.INT64 }],
        },
      ],
      initializer: [
        rawFloats('hidden_weights', [weights.length, hiddenUnits], first),
        rawFloats('output_weights', [hiddenUnits, 1], second),
        rawFloats('intercept', [1], Float32Array.of(intercept)),
        rawFloats('threshold', [1], Float32Array.of(0.5)),
      ],
      input: [valueInfo('features', DataType.FLOAT, ['batch', weights.length])],
      output: [valueInfo('probability', DataType.FLOAT, ['batch', 1]), valueInfo('label', DataType.INT64, ['batch', 1])],
    },
    metadataProps: [{ key: FEATURE_NAMES_METADATA_KEY, value: JSON.stringify(featureNames) }],
  });
  return new Uint8Array(onnx.ModelProto.encode(model).finish());
}

function node(opType: string, input: string[], output: string[]): OnnxTypes.INodeProto {
  return { opType, input, output, name: `${opType}_${output[0]}` };
}

function rawFloats(name: string, dims: number[], values: Float32Array): OnnxTypes.ITensorProto {
  return { name, dims, dataType: DataType.FLOAT, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

function valueInfo(name: string, elemType: OnnxTypes.TensorProto.DataType, dims: (number | string)[]): OnnxTypes.IValueInfoProto {
  const dim = dims.map((size) => (typeof size === 'string' ? { dimParam: size } : { dimValue: size }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

/** Rows of feature values, the same for every run. */
export function featureRows(count: number): number[][] {
  return Array.from({ length: count }, (_, row) => CLASSIFIER.weights.map((_, column) => Math.round(((row * 7 + column * 3) % 11) * 10 - 50) / 10));
}

/** A /predict body with `rows` instances. */
export function predictBody(rows: number): string {
  return JSON.stringify({ instances: featureRows(rows) });
}

/** An Open Inference Protocol /infer body with `rows` rows of the `features` input, data flat. */
export function inferBody(rows: number): string {
  return JSON.stringify({ inputs: [{ name: 'features', shape: [rows, CLASSIFIER.weights.length], datatype: 'FP32', data: featureRows(rows).flat() }] });
}

/** A registry entry for model bytes, as register-model would write it: for jobs that run without the registry. */
export function benchVersion(bytes: Uint8Array, signature: ModelSignature, model = 'bench-small'): ModelVersion {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return {
    ...{ model, version: 1, status: 'ready', artifactUri: `gs://bench/${model}.onnx`, generation: '1', sha256, sizeBytes: bytes.byteLength },
    ...{ signature, metrics: {}, params: {}, tags: {}, description: '', lineage: { sourceUri: 'bench' }, createdAt: new Date().toISOString() },
  };
}
