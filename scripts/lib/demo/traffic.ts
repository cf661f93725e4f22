import { IRIS_FEATURES, type LabelledRow } from './iris-classifier.js';
import type { Random } from '../../../shared/domain/random.js';

/** How one feature is distorted in the drifted phase: value * scale + shift. */
export interface FeatureShift {
  scale?: number;
  shift?: number;
}

/** One request's instance, by feature name, and the outcome the world will later report for it. */
export interface TrafficRow {
  instance: Record<string, number>;
  label: 0 | 1;
}

/**
 * The demo's drift: petals measured by a new greenhouse come out larger, while the flowers (and
 * their true species) are the same, so the model sees shifted petal features and calls many
 * versicolors virginica. Sepal features are untouched and must not be reported as drifted.
 */
export const PETAL_DRIFT: Readonly<Record<string, FeatureShift>> = {
  petal_length: { scale: 1.3 },
  petal_width: { scale: 1.3, shift: 0.25 },
};

/** Relative measurement noise added to every sampled flower, so traffic is not 150 repeated rows. */
const NOISE = 0.04;

/**
 * Samples `count` flowers (with replacement) from the data set, each measurement jittered by a few
 * percent, then distorted by `drift` when given. Labels are the flowers' true classes.
 */
export function sampleTraffic(rows: LabelledRow[], count: number, random: Random, drift: Readonly<Record<string, FeatureShift>> = {}): TrafficRow[] {
  return Array.from({ length: count }, () => {
    const row = rows[random.integer(rows.length)]!;
    const instance = Object.fromEntries(
      IRIS_FEATURES.map((name, index) => {
        const { scale = 1, shift = 0 } = drift[name] ?? {};
        const measured = row.features[index]! * (1 + NOISE * random.normal());
        return [name, round(Math.max(0.1, measured * scale + shift))];
      }),
    );
    return { instance, label: row.label };
  });
}

/** Splits items into consecutive batches of at most `size`. */
export function batches<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
