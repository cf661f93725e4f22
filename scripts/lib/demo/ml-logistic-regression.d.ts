// ml-logistic-regression ships no types; this declares the part the demo uses.
declare module 'ml-logistic-regression' {
  import type { Matrix } from 'ml-matrix';

  /** One-vs-all logistic regression trained by batch gradient descent (no intercept term of its own). */
  export default class LogisticRegression {
    constructor(options?: { numSteps?: number; learningRate?: number });
    /** One binary classifier per class; classifier 0 scores "not class 0", so for two classes it scores class 1. */
    classifiers: { weights: Matrix; testScores(features: Matrix): number[] }[];
    train(features: Matrix, target: Matrix): void;
    predict(features: Matrix): number[];
  }
}
