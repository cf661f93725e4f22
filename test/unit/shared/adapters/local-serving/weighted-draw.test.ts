import { describe, expect, it } from 'vitest';
import { drawWeighted } from '../../../../../shared/adapters/local-serving/weighted-draw.js';

/** How often each index is drawn over `draws` evenly spaced points of [0, 1). */
function shares(weights: number[], draws: number): number[] {
  const counts = weights.map(() => 0);
  for (let step = 0; step < draws; step++) counts[drawWeighted(weights, step / draws)!]!++;
  return counts.map((count) => (count / draws) * 100);
}

describe('drawing a revision by weight', () => {
  it('gives each index its share of the draws', () => {
    expect(shares([90, 10], 1000)).toEqual([90, 10]);
    expect(shares([50, 25, 25], 1000)).toEqual([50, 25, 25]);
  });

  it('never draws a zero weight, at either end of [0, 1)', () => {
    expect([0, 0.5, 0.999999].map((random) => drawWeighted([0, 100], random))).toEqual([1, 1, 1]);
    expect([0, 0.5, 0.999999].map((random) => drawWeighted([100, 0], random))).toEqual([0, 0, 0]);
    expect(drawWeighted([30, 70, 0], 1 - Number.EPSILON)).toBe(1);
  });

  it('draws the first index when no weight is positive, and nothing from an empty list', () => {
    expect(drawWeighted([0, 0], 0.7)).toBe(0);
    expect(drawWeighted([], 0.7)).toBeUndefined();
  });

  it('keeps a real random draw within a point of 10% over 20,000 draws', () => {
    const counts = [0, 0];
    for (let draw = 0; draw < 20_000; draw++) counts[drawWeighted([90, 10], Math.random())!]!++;
    expect(Math.abs((counts[1]! / 20_000) * 100 - 10)).toBeLessThan(1);
  });
});
