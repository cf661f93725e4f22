import { type Random, randomOrder } from '../random.js';

/** z of a two-sided 95% interval: an error bound is this many standard errors. */
export const BOUND_Z = 1.96;

/** One antithetic draw: a feature order walked forwards and backwards from the same background row. */
export interface PermutationPair {
  order: number[];
  background: number;
}

/** A sampled Shapley estimate of one instance's score, per feature in column order. */
export interface ShapleyEstimate {
  /** The score of the instance. */
  prediction: number;
  /** The mean score of the background rows drawn, which the attributions start from. */
  baseline: number;
  /** They sum to prediction − baseline: each permutation's marginal contributions telescope. */
  attributions: number[];
  /** 1.96 standard errors of each attribution, the pairs being the independent draws. */
  errorBound: number[];
}

/** The rows to score for one instance, and how their scores become its estimate. */
export interface ShapleyPlan<Value> {
  /** The instance itself first, then per pair its background row and the coalitions on the way to the instance. */
  rows: Value[][];
  /** The estimate from one score per row, in the order of `rows`. */
  estimate(scores: ArrayLike<number>): ShapleyEstimate;
}

/**
 * Plans a permutation-sampling Shapley estimate (Štrumbelj and Kononenko) of `instance` against
 * `background`: `pairs` antithetic pairs, each an order of the features and its reverse, starting
 * from one background row and switching features to the instance's values one at a time. Each
 * pair costs 2·(features − 1) + 1 rows, plus one row for the instance.
 */
export function planSampledShapley<Value>(
  instance: readonly Value[],
  background: readonly (readonly Value[])[],
  pairs: number,
  random: Random,
): ShapleyPlan<Value> {
  const draws = drawPairs(instance.length, pairs, background.length, random);
  const rows: Value[][] = [[...instance]];
  for (const { order, background: row } of draws) {
    const start = background[row]!;
    rows.push([...start]);
    rows.push(...coalitions(instance, start, order), ...coalitions(instance, start, [...order].reverse()));
  }
  return { rows, estimate: (scores) => combine(scores, draws, instance.length) };
}

/** `pairs` draws of a random feature order and a uniformly chosen background row. */
export function drawPairs(features: number, pairs: number, backgroundRows: number, random: Random): PermutationPair[] {
  return Array.from({ length: pairs }, () => ({ order: randomOrder(features, random), background: random.integer(backgroundRows) }));
}

// The rows between the background row and the instance: the first k features of `order` switched, k = 1..features-1.
function coalitions<Value>(instance: readonly Value[], start: readonly Value[], order: readonly number[]): Value[][] {
  const rows: Value[][] = [];
  const row = [...start];
  for (let step = 0; step < order.length - 1; step++) {
    row[order[step]!] = instance[order[step]!]!;
    rows.push([...row]);
  }
  return rows;
}

function combine(scores: ArrayLike<number>, draws: readonly PermutationPair[], features: number): ShapleyEstimate {
  const prediction = scores[0]!;
  const perPair = draws.map(() => new Array<number>(features).fill(0));
  const stride = 2 * features - 1;
  let baseline = 0;
  draws.forEach(({ order }, pair) => {
    const offset = 1 + pair * stride;
    const start = scores[offset]!;
    baseline += start;
    const walk = (step: number, first: number) => (step === 0 ? start : step === features ? prediction : scores[first + step - 1]!);
    for (let step = 1; step <= features; step++) {
      perPair[pair]![order[step - 1]!]! += (walk(step, offset + 1) - walk(step - 1, offset + 1)) / 2;
      perPair[pair]![order[features - step]!]! += (walk(step, offset + features) - walk(step - 1, offset + features)) / 2;
    }
  });
  const attributions = columnMean(perPair, features);
  return { prediction, baseline: baseline / draws.length, attributions, errorBound: errorBounds(perPair, attributions) };
}

function columnMean(rows: readonly number[][], width: number): number[] {
  const means = new Array<number>(width).fill(0);
  for (const row of rows) for (let column = 0; column < width; column++) means[column]! += row[column]! / rows.length;
  return means;
}

// Pairs are independent draws, the two walks of one pair are not: the standard error is over pair means.
function errorBounds(perPair: readonly number[][], means: readonly number[]): number[] {
  const count = perPair.length;
  return means.map((mean, column) => {
    let squares = 0;
    for (const row of perPair) squares += (row[column]! - mean) ** 2;
    return count > 1 ? BOUND_Z * Math.sqrt(squares / (count - 1) / count) : Number.POSITIVE_INFINITY;
  });
}
