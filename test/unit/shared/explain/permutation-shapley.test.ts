import { describe, expect, it } from 'vitest';
import { planSampledShapley } from '../../../../shared/domain/explain/permutation-shapley.js';
import { randomOrder, seededRandom } from '../../../../shared/domain/random.js';

const score = (f: (row: number[]) => number) => (rows: number[][]) => rows.map(f);

describe('planSampledShapley', () => {
  it('is exact with a zero bound for an additive score against one background row: every order agrees', () => {
    const f = score(([a, b, c]) => 2 * a! - 3 * b! + 0.5 * c!);
    const plan = planSampledShapley([1, 2, 3], [[0, 1, 1]], 10, seededRandom(1));
    expect(plan.rows).toHaveLength(1 + 10 * 5);
    const estimate = plan.estimate(f(plan.rows));
    expect([estimate.prediction, estimate.baseline]).toEqual([-2.5, -2.5]);
    [2, -3, 1].forEach((exact, column) => {
      expect(estimate.attributions[column]).toBeCloseTo(exact, 12);
      expect(estimate.errorBound[column]).toBeLessThan(1e-12);
    });
  });

  it('with two features and one background row, one antithetic pair is the exact Shapley value', () => {
    const f = score(([a, b]) => a! * b! + a!);
    const [x, z] = [
      [3, 5],
      [1, 2],
    ];
    const plan = planSampledShapley(x, [z], 2, seededRandom(4));
    const estimate = plan.estimate(f(plan.rows));
    // φ_a = ½[(f(3,2) − f(1,2)) + (f(3,5) − f(1,5))] = ½[(9 − 3) + (18 − 6)] = 9; φ_b = ½[(f(1,5) − f(1,2)) + (f(3,5) − f(3,2))] = ½[3 + 9] = 6.
    expect(estimate.attributions).toEqual([9, 6]);
    expect(estimate.errorBound).toEqual([0, 0]);
    expect(estimate.baseline).toBe(3);
  });

  it('telescopes: attributions sum to prediction − mean score of the background rows drawn, whatever the score', () => {
    const f = score(([a, b, c, d]) => Math.sin(a! * b!) + Math.max(c!, d!) ** 2);
    const background = Array.from({ length: 7 }, (_, row) => [row, -row, row / 2, 1 - row]);
    const plan = planSampledShapley([0.3, 1.7, -2, 0.5], background, 25, seededRandom(9));
    const estimate = plan.estimate(f(plan.rows));
    expect(estimate.attributions.reduce((total, value) => total + value, 0)).toBeCloseTo(estimate.prediction - estimate.baseline, 12);
    expect(estimate.errorBound.every((bound) => bound > 0 && Number.isFinite(bound))).toBe(true);
  });

  it('one pair has no standard error: its bound is infinite rather than a false zero', () => {
    const plan = planSampledShapley([1, 2, 3], [[0, 0, 0]], 1, seededRandom(2));
    const estimate = plan.estimate(score(([a, b, c]) => a! * b! * c!)(plan.rows));
    expect(estimate.errorBound.every((bound) => bound === Number.POSITIVE_INFINITY)).toBe(true);
  });
});

describe('seededRandom and randomOrder', () => {
  it('repeat for a seed, differ across seeds, and draw every order of three features about equally often', () => {
    expect(randomOrder(6, seededRandom(3))).toEqual(randomOrder(6, seededRandom(3)));
    expect(randomOrder(6, seededRandom(3))).not.toEqual(randomOrder(6, seededRandom(4)));
    const random = seededRandom(11);
    const counts = new Map<string, number>();
    for (let draw = 0; draw < 6000; draw++) {
      const order = randomOrder(3, random).join('');
      counts.set(order, (counts.get(order) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(['012', '021', '102', '120', '201', '210']);
    for (const count of counts.values()) expect(Math.abs(count - 1000)).toBeLessThan(100);
  });
});
