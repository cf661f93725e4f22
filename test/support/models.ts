import { linearRegressionToOnnx, logisticRegressionToOnnx } from '../../shared/model-export/onnx-writer.js';

/** Coefficients of the `binaryClassifierOnnx` fixture, for tests that compute expected outputs. */
export const BINARY_CLASSIFIER = {
  weights: [0.8, -0.5, 0.3, 1.2],
  intercept: -0.2,
  featureNames: ['f0', 'f1', 'f2', 'f3'],
} as const;

/** Coefficients of the `regressorOnnx` fixture, for tests that compute expected outputs. */
export const REGRESSOR = {
  weights: [2.5, -1.25, 0.5],
  intercept: 10,
  featureNames: ['x0', 'x1', 'x2'],
} as const;

/** A 4-feature logistic regression: input `features` [batch, 4], outputs `probability` and `label` [batch, 1]. */
export function binaryClassifierOnnx(): Uint8Array {
  return logisticRegressionToOnnx({
    weights: [...BINARY_CLASSIFIER.weights],
    intercept: BINARY_CLASSIFIER.intercept,
    featureNames: [...BINARY_CLASSIFIER.featureNames],
  });
}

/** A 3-feature linear regression: input `features` [batch, 3], output `value` [batch, 1]. */
export function regressorOnnx(): Uint8Array {
  return linearRegressionToOnnx({
    weights: [...REGRESSOR.weights],
    intercept: REGRESSOR.intercept,
    featureNames: [...REGRESSOR.featureNames],
  });
}

/** The classifier's bytes cut in half: what a broken upload looks like. */
export function corruptOnnx(): Uint8Array {
  const bytes = binaryClassifierOnnx();
  return bytes.slice(0, Math.floor(bytes.length / 2));
}
