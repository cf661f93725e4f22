import { normalSf, studentTTwoSidedSf } from '../drift/special-functions.js';

/**
 * Two-sample significance tests for comparing a rollout's arms, from summaries the warehouse computed
 * (counts, means, variances): the process never needs the rows. Both are two-sided and agree with
 * SciPy to 1e-9 (test/unit/shared/domain/stats/significance.test.ts).
 */

/** A z statistic and its two-sided p-value. */
export interface ZTestResult {
  z: number;
  pValue: number;
}

/** A t statistic, its (Welch-Satterthwaite) degrees of freedom and its two-sided p-value. */
export interface TTestResult {
  t: number;
  df: number;
  pValue: number;
}

/** One sample summarised: its mean, its unbiased (n − 1) variance and its size. */
export interface SampleSummary {
  mean: number;
  variance: number;
  n: number;
}

/**
 * The two-proportion z-test with pooled variance: z = (p_A − p_B) / sqrt(p(1 − p)(1/n_A + 1/n_B)),
 * p the pooled share (statsmodels' proportions_ztest). Positive z: A's share is the larger. When both
 * samples are all successes or all failures there is no difference to see: z = 0, p = 1.
 */
export function twoProportionZTest(successesA: number, nA: number, successesB: number, nB: number): ZTestResult {
  checkCounts(successesA, nA, 'A');
  checkCounts(successesB, nB, 'B');
  const pooled = (successesA + successesB) / (nA + nB);
  const standardError = Math.sqrt(pooled * (1 - pooled) * (1 / nA + 1 / nB));
  if (standardError === 0) return { z: 0, pValue: 1 };
  const z = (successesA / nA - successesB / nB) / standardError;
  return { z, pValue: Math.min(1, 2 * normalSf(Math.abs(z))) };
}

/**
 * Welch's unequal-variances t-test (scipy.stats.ttest_ind with equal_var=False): t = (m_A − m_B) /
 * sqrt(v_A/n_A + v_B/n_B) on Welch-Satterthwaite degrees of freedom. Positive t: A's mean is the larger.
 * Each sample needs two values; with no variance on either side equal means give t = 0, p = 1 and
 * different means an infinite t with p = 0.
 */
export function welchTTest(a: SampleSummary, b: SampleSummary): TTestResult {
  checkSummary(a, 'A');
  checkSummary(b, 'B');
  const shareA = a.variance / a.n;
  const shareB = b.variance / b.n;
  const spread = shareA + shareB;
  const difference = a.mean - b.mean;
  if (spread === 0) {
    const t = difference === 0 ? 0 : Math.sign(difference) * Number.POSITIVE_INFINITY;
    return { t, df: a.n + b.n - 2, pValue: difference === 0 ? 1 : 0 };
  }
  const t = difference / Math.sqrt(spread);
  const df = (spread * spread) / ((shareA * shareA) / (a.n - 1) + (shareB * shareB) / (b.n - 1));
  return { t, df, pValue: Math.min(1, studentTTwoSidedSf(t, df)) };
}

function checkCounts(successes: number, n: number, which: string): void {
  if (!(Number.isInteger(n) && n > 0 && Number.isInteger(successes) && successes >= 0 && successes <= n)) {
    throw new RangeError(`Sample ${which} must have a whole number of trials above 0 and of successes from 0 to the trials; got ${successes} of ${n}.`);
  }
}

function checkSummary({ mean, variance, n }: SampleSummary, which: string): void {
  if (!(Number.isInteger(n) && n >= 2)) throw new RangeError(`Sample ${which} needs at least 2 values for a variance; got n=${n}.`);
  if (!Number.isFinite(mean) || !(variance >= 0 && Number.isFinite(variance))) {
    throw new RangeError(`Sample ${which} needs a finite mean and a finite variance of at least 0; got mean ${mean}, variance ${variance}.`);
  }
}
