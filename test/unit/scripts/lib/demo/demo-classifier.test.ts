import LogisticRegression from 'ml-logistic-regression';
import { Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { bucketSizeFor } from '../../../../../scripts/lib/dashboard/dashboard-queries.js';
import { evaluate, irisDataset, probability, splitStratified, trainClassifier } from '../../../../../scripts/lib/demo/iris-classifier.js';
import { seededRandom } from '../../../../../shared/domain/random.js';
import { PETAL_DRIFT, sampleTraffic } from '../../../../../scripts/lib/demo/traffic.js';

describe('the demo classifier', () => {
  const dataset = irisDataset();
  const { train, test } = splitStratified(dataset, 0.3, seededRandom(7));

  it('splits the 150 iris flowers 70/30 keeping a third virginica on each side', () => {
    expect(dataset).toHaveLength(150);
    expect(train).toHaveLength(105);
    expect(test.filter((row) => row.label === 1)).toHaveLength(15);
  });

  it('folds the standardization into raw-unit weights that reproduce the library', () => {
    const options = { numSteps: 1500, learningRate: 0.002 };
    const fitted = trainClassifier(train, options);
    // The library itself, on features standardized the same way, with the constant column.
    const columns = [0, 1, 2, 3];
    const mean = columns.map((j) => train.reduce((sum, row) => sum + row.features[j]!, 0) / train.length);
    const sd = columns.map((j) => Math.sqrt(train.reduce((sum, row) => sum + (row.features[j]! - mean[j]!) ** 2, 0) / train.length));
    const standardize = (features: number[]) => [...features.map((value, j) => (value - mean[j]!) / sd[j]!), 1];
    const library = new LogisticRegression(options);
    library.train(new Matrix(train.map((row) => standardize(row.features))), Matrix.columnVector(train.map((row) => row.label)));
    const expected = library.classifiers[0]!.testScores(new Matrix(test.map((row) => standardize(row.features))));
    for (const [index, row] of test.entries()) expect(probability(fitted, row.features)).toBeCloseTo(expected[index]!, 10);
    expect(evaluate(fitted, test).auc).toBeGreaterThan(0.95);
  });

  it('misclassifies drifted petals more often than normal traffic', () => {
    const fitted = trainClassifier(train, { numSteps: 1500, learningRate: 0.002 });
    const accuracy = (rows: ReturnType<typeof sampleTraffic>) =>
      rows.filter((row) => (probability(fitted, Object.values(row.instance)) >= 0.5 ? 1 : 0) === row.label).length / rows.length;
    const normal = sampleTraffic(dataset, 2000, seededRandom(1));
    const drifted = sampleTraffic(dataset, 2000, seededRandom(1), PETAL_DRIFT);
    expect(accuracy(normal)).toBeGreaterThan(0.9);
    expect(accuracy(drifted)).toBeLessThan(accuracy(normal) - 0.15);
    expect(drifted.map((row) => row.instance.sepal_length)).toEqual(normal.map((row) => row.instance.sepal_length));
  });
});

describe('dashboard time buckets', () => {
  it('keeps about 60 buckets or fewer, from a 30-second demo to a month of traffic', () => {
    expect(bucketSizeFor(0)).toBe(1000);
    expect(bucketSizeFor(30_000)).toBe(1000);
    expect(bucketSizeFor(10 * 60_000)).toBe(10_000);
    expect(bucketSizeFor(30 * 86_400_000)).toBe(43_200_000);
  });
});
