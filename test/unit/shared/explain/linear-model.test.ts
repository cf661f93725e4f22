import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { linearModelOf } from '../../../../shared/model-export/linear-model.js';
import { binaryClassifierOnnx, BINARY_CLASSIFIER } from '../../../support/models.js';
import { FIXTURES } from '../../../support/paths.js';

const { onnx } = onnxProto;
const fixture = (name: string) => readFileSync(resolve(FIXTURES, 'models', `${name}.onnx`));

/** A Gemm with B stored transposed and alpha/beta set, then Softmax: what torch.onnx writes for a linear layer. */
function gemmModel(): Uint8Array {
  const float = onnx.TensorProto.DataType.FLOAT;
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'gemm',
      node: [
        {
          opType: 'Gemm',
          input: ['x', 'w', 'b'],
          output: ['logits'],
          attribute: [
            { name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 },
            { name: 'alpha', type: onnx.AttributeProto.AttributeType.FLOAT, f: 2 },
            { name: 'beta', type: onnx.AttributeProto.AttributeType.FLOAT, f: 0.5 },
          ],
        },
        { opType: 'Softmax', input: ['logits'], output: ['probabilities'] },
      ],
      initializer: [
        { name: 'w', dims: [3, 2], dataType: float, floatData: [1, 2, 3, 4, 5, 6] },
        { name: 'b', dims: [3], dataType: float, floatData: [1, 2, 4] },
      ],
      input: [{ name: 'x', type: { tensorType: { elemType: float, shape: { dim: [{ dimParam: 'N' }, { dimValue: 2 }] } } } }],
      output: [{ name: 'probabilities', type: { tensorType: { elemType: float, shape: { dim: [{ dimParam: 'N' }, { dimValue: 3 }] } } } }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

describe('linearModelOf', () => {
  it("reads a LinearClassifier's per-class rows and folds a Scaler before it into the weights", () => {
    const plain = linearModelOf(fixture('skl2onnx-logreg-binary'))!;
    expect(plain).toMatchObject({ input: 'X', width: 4, kind: 'classifier' });
    expect(plain.scores).toHaveLength(2);
    const scaled = linearModelOf(fixture('skl2onnx-pipeline-scaler'))!;
    // x at the Scaler's offset scores the intercept alone: Σ w·scale·offset + b' = b.
    const offset = [5.8, 3.0, 3.7, 1.2].map(Math.fround);
    const [, positive] = scaled.scores;
    expect(positive!.weights.reduce((total, weight, column) => total + weight * offset[column]!, positive!.intercept)).toBeCloseTo(Math.fround(-0.15), 6);
  });

  it('reads MatMul + Add (+ Sigmoid) as the platform exports, and Gemm with transB, alpha and beta', () => {
    const logistic = linearModelOf(binaryClassifierOnnx())!;
    expect(logistic.kind).toBe('classifier');
    expect(logistic.scores[0]!.weights).toEqual(BINARY_CLASSIFIER.weights.map(Math.fround));
    expect(logistic.scores[0]!.intercept).toBe(Math.fround(BINARY_CLASSIFIER.intercept));
    const gemm = linearModelOf(gemmModel())!;
    expect(gemm.kind).toBe('classifier');
    expect(gemm.scores).toEqual([
      { weights: [2, 4], intercept: 0.5 },
      { weights: [6, 8], intercept: 1 },
      { weights: [10, 12], intercept: 2 },
    ]);
  });

  it('gives undefined for trees, hidden layers, several inputs and bytes that are no model', () => {
    for (const name of ['skl2onnx-random-forest', 'skl2onnx-tree-regressor', 'torch-mlp', 'tf2onnx-keras', 'torch-two-inputs', 'skl2onnx-column-transformer']) {
      expect(linearModelOf(fixture(name)), name).toBeUndefined();
    }
    expect(linearModelOf(new Uint8Array([1, 2, 3, 4]))).toBeUndefined();
  });
});
