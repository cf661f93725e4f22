import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DuckDbWarehouse } from '../../shared/adapters/duckdb/duckdb-warehouse.js';
import { twoProportionZTest, welchTTest } from '../../shared/domain/stats/significance.js';
import { measureStep } from '../../shared/services/rollout-analysis.js';
import { seeded } from '../support/drift-scenario.js';
import { at, CLASSIFIER, MINUTE, REGRESSOR, rollout, rows, temporaryWarehouse, WINDOW } from '../support/rollout-scenario.js';

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const variance = (values: number[]) => values.reduce((sum, x) => sum + (x - mean(values)) ** 2, 0) / (values.length - 1);

describe('an A/B split compared from ground truth', () => {
  let warehouse: DuckDbWarehouse;
  let dispose: () => Promise<void>;
  const random = seeded(42);

  beforeAll(async () => {
    ({ warehouse, dispose } = await temporaryWarehouse());
  });

  afterAll(async () => {
    await dispose?.();
  });

  /** Labels predicted by an arm, and ground truth agreeing with each at `accuracy` for the first `labelled` of them. */
  async function seedClassifier(model: string, version: number, n: number, labelled: number, accuracy: number): Promise<boolean[]> {
    const outputs = Array.from({ length: n }, () => ({ label: random() < 0.5 ? 1 : 0 }));
    const predictions = rows(model, { version, outputs, latency: new Array(n).fill(1) });
    await warehouse.insert('predictions', predictions);
    const right = outputs.slice(0, labelled).map(() => random() < accuracy);
    const truth = right.map((correct, index) => ({
      prediction_id: predictions[index]!.prediction_id,
      label: String(correct ? outputs[index]!.label : 1 - outputs[index]!.label),
      value: null,
      observed_time: at(11 * MINUTE),
    }));
    await warehouse.insert('ground_truth', truth);
    return right;
  }

  it('compares accuracy with the two-proportion z-test and calls the better arm', async () => {
    const candidate = await seedClassifier('ab', 2, 700, 600, 0.9);
    const baseline = await seedClassifier('ab', 1, 700, 650, 0.8);
    const figures = await measureStep(warehouse, rollout('ab', 'split'), WINDOW, CLASSIFIER);
    const right = (arm: boolean[]) => arm.filter(Boolean).length;
    const pooled = (right(candidate) + right(baseline)) / (600 + 650);
    const z = (right(candidate) / 600 - right(baseline) / 650) / Math.sqrt(pooled * (1 - pooled) * (1 / 600 + 1 / 650));
    expect(figures.comparison).toEqual({
      metric: 'accuracy',
      candidate: { n: 600, value: right(candidate) / 600 },
      baseline: { n: 650, value: right(baseline) / 650 },
      test: 'two-proportion z',
      statistic: expect.closeTo(z, 12),
      pValue: twoProportionZTest(right(candidate), 600, right(baseline), 650).pValue,
      verdict: 'candidate better',
    });
    expect(figures.comparison!.pValue).toBeLessThan(0.05);
  });

  it('has no comparison before any ground truth arrived', async () => {
    await seedClassifier('unlabelled', 2, 50, 0, 1);
    await seedClassifier('unlabelled', 1, 50, 0, 1);
    expect((await measureStep(warehouse, rollout('unlabelled', 'split'), WINDOW, CLASSIFIER)).comparison).toBeNull();
  });

  it("compares a regressor's absolute error with Welch's t and calls a worse candidate worse", async () => {
    const errors: Record<number, number[]> = {};
    for (const [version, spread] of [
      [2, 3],
      [1, 1],
    ] as const) {
      const outputs = Array.from({ length: 300 }, () => ({ value: Math.round(random() * 1e5) / 1000 }));
      const predictions = rows('reg', { version, outputs, latency: new Array(300).fill(1) });
      await warehouse.insert('predictions', predictions);
      const actual = outputs.map((output) => output.value + Math.round((random() - 0.5) * spread * 1000) / 1000);
      await warehouse.insert(
        'ground_truth',
        actual.map((value, index) => ({ prediction_id: predictions[index]!.prediction_id, label: null, value, observed_time: at(12 * MINUTE) })),
      );
      errors[version] = actual.map((value, index) => Math.abs(outputs[index]!.value - value));
    }
    const figures = await measureStep(warehouse, rollout('reg', 'split'), WINDOW, REGRESSOR);
    const [c, b] = [errors[2]!, errors[1]!];
    const t = (mean(c) - mean(b)) / Math.sqrt(variance(c) / c.length + variance(b) / b.length);
    expect(figures.comparison).toMatchObject({ metric: 'mean_absolute_error', test: "Welch's t", verdict: 'candidate worse' });
    expect(figures.comparison!.candidate.value).toBeCloseTo(mean(c), 9);
    expect(figures.comparison!.baseline.value).toBeCloseTo(mean(b), 9);
    expect(figures.comparison!.statistic).toBeCloseTo(t, 6);
    const reference = welchTTest({ mean: mean(c), variance: variance(c), n: 300 }, { mean: mean(b), variance: variance(b), n: 300 });
    expect(figures.comparison!.pValue).toBeCloseTo(reference.pValue, 9);
  });
});
