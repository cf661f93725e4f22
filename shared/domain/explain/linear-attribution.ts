/** One linear score over a row of features: weights · x + intercept. */
export interface LinearScore {
  weights: readonly number[];
  intercept: number;
}

/** A linear score's exact attributions for one instance against a baseline point. */
export interface LinearAttribution {
  /** The score of the instance. */
  prediction: number;
  /** The score at the baseline point (the background's mean). */
  baseline: number;
  /** weight × (value − baseline value), per feature in column order; they sum to prediction − baseline. */
  attributions: number[];
}

/** The exact Shapley values of a linear score, which for a linear function are weight × (value − mean). */
export function linearAttribution({ weights, intercept }: LinearScore, instance: readonly number[], mean: readonly number[]): LinearAttribution {
  const attributions = weights.map((weight, column) => weight * (instance[column]! - mean[column]!));
  return { prediction: dot(weights, instance) + intercept, baseline: dot(weights, mean) + intercept, attributions };
}

/** The mean of each column over `rows` (at least one, all as wide as the first). */
export function columnMeans(rows: readonly (readonly number[])[]): number[] {
  const sums = new Array<number>(rows[0]!.length).fill(0);
  for (const row of rows) for (let column = 0; column < sums.length; column++) sums[column]! += row[column]!;
  return sums.map((sum) => sum / rows.length);
}

function dot(weights: readonly number[], values: readonly number[]): number {
  let total = 0;
  for (let column = 0; column < weights.length; column++) total += weights[column]! * values[column]!;
  return total;
}
