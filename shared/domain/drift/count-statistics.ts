import { chiSquareSf, normalSf } from './special-functions.js';

/**
 * Drift statistics over counts: per category, or per bin of a numeric feature. Both vectors count
 * the same categories or bins in the same order; the warehouse computed the counts.
 */

/** Evidently's fill for an empty share in PSI, so the logarithm stays finite. */
export const PSI_EMPTY_SHARE = 0.0001;

const total = (counts: number[]): number => counts.reduce((sum, count) => sum + count, 0);
const sharesOf = (counts: number[]): number[] => {
  const sum = total(counts);
  return counts.map((count) => count / sum);
};

/** x·ln(x/y) with SciPy's `rel_entr` conventions for zeros. */
function relativeEntropy(x: number, y: number): number {
  if (x === 0 && y >= 0) return 0;
  if (x > 0 && y > 0) return x * Math.log(x / y);
  return Number.POSITIVE_INFINITY;
}

/** `scipy.spatial.distance.jensenshannon(reference, current)`: natural log, so it lies in [0, sqrt(ln 2)]. */
export function jensenShannonDistance(reference: number[], current: number[]): number {
  const p = sharesOf(reference);
  const q = sharesOf(current);
  let divergence = 0;
  for (let index = 0; index < p.length; index++) {
    const middle = (p[index]! + q[index]!) / 2;
    divergence += relativeEntropy(p[index]!, middle) + relativeEntropy(q[index]!, middle);
  }
  return Math.sqrt(divergence / 2);
}

/** Population stability index Σ (q − p)·ln(q / p), empty shares replaced by PSI_EMPTY_SHARE. */
export function populationStabilityIndex(reference: number[], current: number[]): number {
  const p = sharesOf(reference).map((share) => (share === 0 ? PSI_EMPTY_SHARE : share));
  const q = sharesOf(current).map((share) => (share === 0 ? PSI_EMPTY_SHARE : share));
  return p.reduce((sum, share, index) => sum + (q[index]! - share) * Math.log(q[index]! / share), 0);
}

/** The largest difference between the two share vectors (Vertex AI's categorical distance). */
export function lInfinityDistance(reference: number[], current: number[]): number {
  const p = sharesOf(reference);
  const q = sharesOf(current);
  return p.reduce((max, share, index) => Math.max(max, Math.abs(share - q[index]!)), 0);
}

/** A test statistic with its p-value. */
export interface TestResult {
  statistic: number;
  pValue: number;
}

/**
 * `scipy.stats.chi2_contingency` on the 2×k table [reference; current]: Pearson's statistic with
 * Yates' correction when there is one degree of freedom (SciPy's default).
 */
export function chiSquareContingency(reference: number[], current: number[]): TestResult & { dof: number } {
  const dof = reference.length - 1;
  if (dof <= 0) return { statistic: 0, pValue: 1, dof: 0 };
  const rows = [reference, current];
  const rowTotals = rows.map(total);
  const grandTotal = rowTotals[0]! + rowTotals[1]!;
  let statistic = 0;
  for (const [row, counts] of rows.entries()) {
    for (const [column, observed] of counts.entries()) {
      const expected = (rowTotals[row]! * (reference[column]! + current[column]!)) / grandTotal;
      const difference = expected - observed;
      const corrected = dof === 1 ? observed + Math.sign(difference) * Math.min(0.5, Math.abs(difference)) : observed;
      statistic += (corrected - expected) ** 2 / expected;
    }
  }
  return { statistic, pValue: chiSquareSf(statistic, dof), dof };
}

/**
 * Evidently's two-proportion z-test for a binary feature: counts of the first category against the
 * totals, pooled standard error, two-sided normal p-value. One value on both sides is no drift.
 */
export function proportionZTest(reference: number[], current: number[]): TestResult {
  const [n1, n2] = [total(reference), total(current)];
  const p1 = (reference[0] ?? 0) / n1;
  const p2 = (current[0] ?? 0) / n2;
  const pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
  const z = (p1 - p2) / Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (!Number.isFinite(z)) return { statistic: 0, pValue: 1 };
  return { statistic: z, pValue: 2 * normalSf(Math.abs(z)) };
}
