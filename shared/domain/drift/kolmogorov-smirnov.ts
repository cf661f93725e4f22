import { kolmogorovSf } from './kolmogorov-distribution.js';

/** The two-sample Kolmogorov-Smirnov test from its statistic and sample sizes, as SciPy's `ks_2samp` reports it. */
export interface KsTestResult {
  /** D, rounded to the lattice 1/lcm(n1, n2) when the exact method ran (as SciPy does). */
  statistic: number;
  pValue: number;
  method: 'exact' | 'asymptotic';
}

/** Above this sample size `ks_2samp(method='auto')` switches from the exact distribution to the asymptotic one. */
export const KS_EXACT_MAX_N = 10_000;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** numpy's `np.round`: halves go to the even neighbour. */
export function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Pr(D_{n,n} >= h/n): alternating binomial ratios evaluated Horner-style to avoid cancellation. */
function probabilityOutsideSquare(n: number, h: number): number {
  let probability = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let ratio = 1;
    for (let j = 0; j < h; j++) ratio = ((n - k * h - j) * ratio) / (n + k * h + j + 1);
    probability = ratio * (1 - probability);
  }
  return 2 * probability;
}

/**
 * Pr(D_{m,n} >= h/lcm) for m != n: the share of lattice paths from (0,0) to (m,n) that leave the
 * band |x/m - y/n| < h/lcm (Hodges' inside method, with Viehmann's recursion for 1 - p), keeping one
 * sliding column of the path counts.
 */
function probabilityOutsideBand(sizeA: number, sizeB: number, g: number, h: number): number {
  const [m, n] = sizeA >= sizeB ? [sizeA, sizeB] : [sizeB, sizeA];
  const mg = Math.floor(m / g);
  const ng = Math.floor(n / g);
  let minJ = 0;
  let maxJ = Math.min(Math.ceil(h / mg), n + 1);
  let length = maxJ - minJ;
  const column = new Float64Array(Math.min(2 * maxJ + 2, n + 1)).fill(1);
  column.fill(0, minJ, maxJ);
  for (let i = 1; i <= m; i++) {
    const lastMinJ = minJ;
    const lastLength = length;
    minJ = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxJ = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxJ <= minJ) return 1;
    let value = minJ === 0 ? 0 : 1;
    for (let jj = 0; jj < maxJ - minJ; jj++) {
      const j = jj + minJ;
      value = (column[jj + minJ - lastMinJ]! * i + value * j) / (i + j);
      column[jj] = value;
    }
    length = maxJ - minJ;
    if (lastLength > length) column.fill(1, length, Math.min(column.length, length + lastLength - length));
  }
  return column[maxJ - minJ - 1]!;
}

/** The exact two-sided p-value, or undefined when the computation leaves [0, 1] (SciPy then falls back to asymptotic). */
function exactTest(n1: number, n2: number, d: number): { statistic: number; pValue: number | undefined } {
  const g = gcd(n1, n2);
  const lcm = (n1 / g) * n2;
  const h = roundHalfEven(d * lcm);
  const statistic = h / lcm;
  if (h === 0) return { statistic, pValue: 1 };
  const p = n1 === n2 ? probabilityOutsideSquare(n1, h) : probabilityOutsideBand(n1, n2, g, h);
  return { statistic, pValue: Number.isFinite(p) && p >= 0 && p <= 1 ? p : undefined };
}

/**
 * The two-sided p-value of D for samples of n1 and n2 values, as `scipy.stats.ks_2samp(method='auto')`:
 * exact when both samples have at most 10,000 values, else kstwo.sf(D, round(n1·n2/(n1+n2))).
 */
export function ksTwoSampleTest(n1: number, n2: number, d: number): KsTestResult {
  let statistic = d;
  if (Math.max(n1, n2) <= KS_EXACT_MAX_N) {
    const exact = exactTest(n1, n2, d);
    statistic = exact.statistic;
    if (exact.pValue !== undefined) return { statistic, pValue: exact.pValue, method: 'exact' };
  }
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const effective = roundHalfEven((m * n) / (m + n));
  return { statistic, pValue: Math.min(1, Math.max(0, kolmogorovSf(effective, statistic))), method: 'asymptotic' };
}

/** The exact p-value alone, for tests of the lattice-path method against SciPy. */
export function ksExactPValue(n1: number, n2: number, d: number): number | undefined {
  return exactTest(n1, n2, d).pValue;
}
