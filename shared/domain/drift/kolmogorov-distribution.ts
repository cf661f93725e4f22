/**
 * The distribution of the two-sided one-sample Kolmogorov-Smirnov statistic D_n, as SciPy's
 * `kstwo.sf(x, n)` computes it: Simard and L'Ecuyer's (2011) choice among Ruben-Gambino's closed
 * forms, the Durbin matrix (Marsaglia-Tsang-Wang), Pomeranz's recursion, Pelz-Good's expansion and
 * twice the one-sided Smirnov tail. ks_2samp's asymptotic p-value is this at n = round(n1·n2/(n1+n2)).
 */

const SCALE_EXPONENT = 128;
const SCALE_UP = 2 ** SCALE_EXPONENT;
const SCALE_DOWN = 2 ** -SCALE_EXPONENT;
const LOG_2PI = Math.log(2 * Math.PI);
const SQRT_2PI = Math.sqrt(2 * Math.PI);
const MIN_LOG = -708;
const MIN_EXP_LOG = -708.3964185322641;
// Bernoulli-number coefficients of Stirling's series, highest power first.
const STIRLING = [
  -0.029550653594771242, 0.00641025641025641, -0.0019175269175269176, 0.0008417508417508417, -0.0005952380952380953, 0.0007936507936507937,
  -0.002777777777777778, 0.08333333333333333,
];

const clip = (p: number): number => Math.min(1, Math.max(0, p));

/** x · 2^exponent without overflowing the power on the way. */
function ldexp(x: number, exponent: number): number {
  let result = x;
  let rest = exponent;
  while (rest > 512) {
    result *= 2 ** 512;
    rest -= 512;
  }
  while (rest < -512) {
    result *= 2 ** -512;
    rest += 512;
  }
  return result * 2 ** rest;
}

/** log(n! / n^n) by Stirling's series with n·log(n) taken out up front. */
function logFactorialOverPower(n: number): number {
  const rn = 1 / n;
  const series = STIRLING.reduce((sum, coefficient) => sum * (rn / n) + coefficient, 0);
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * series;
}

/** Pr(D_n <= d) by the Durbin matrix, raised to the n-th power with rescaling (Marsaglia, Tsang, Wang 2003). */
function durbinMatrixCdf(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const first = new Float64Array(m);
  const diagonal = new Float64Array(m);
  let factorial = 1;
  for (let j = 1; j <= m; j++) {
    diagonal[j - 1] = factorial;
    factorial /= j;
    first[j - 1] = (1 - h ** j) * factorial;
  }
  first[m - 1] = (1 + (Math.max(2 * h - 1, 0) ** m - 2 * h ** m)) * factorial;
  let base: Float64Array = new Float64Array(m * m);
  for (let column = 1; column < m; column++) for (let row = column - 1; row < m; row++) base[row * m + column] = diagonal[row - column + 1]!;
  for (let row = 0; row < m; row++) base[row * m] = first[row]!;
  for (let column = 0; column < m; column++) base[(m - 1) * m + column] = first[m - 1 - column]!;
  let power: Float64Array = identity(m);
  let exponent = 0;
  let baseExponent = 0;
  for (let remaining = n; remaining > 0; remaining = Math.floor(remaining / 2)) {
    if (remaining % 2) {
      power = multiply(power, base, m);
      exponent += baseExponent;
    }
    base = multiply(base, base, m);
    baseExponent *= 2;
    if (Math.abs(base[(k - 1) * m + k - 1]!) > SCALE_UP) {
      for (let index = 0; index < base.length; index++) base[index]! /= SCALE_UP;
      baseExponent += SCALE_EXPONENT;
    }
  }
  let p = power[(k - 1) * m + k - 1]!;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < SCALE_DOWN) {
      p *= SCALE_UP;
      exponent -= SCALE_EXPONENT;
    }
  }
  return clip(exponent === 0 ? p : ldexp(p, exponent));
}

function identity(m: number): Float64Array {
  const matrix = new Float64Array(m * m);
  for (let index = 0; index < m; index++) matrix[index * m + index] = 1;
  return matrix;
}

function multiply(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const product = new Float64Array(m * m);
  for (let row = 0; row < m; row++) {
    for (let inner = 0; inner < m; inner++) {
      const left = a[row * m + inner]!;
      if (left === 0) continue;
      for (let column = 0; column < m; column++) product[row * m + column]! += left * b[inner * m + column]!;
    }
  }
  return product;
}

/** The band of non-zero entries of row i in Pomeranz's recursion. */
function pomeranzBand(i: number, n: number, ll: number, ceilF: number, roundF: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) [j1, j2] = [-ll - ceilF - 1, ll + ceilF - 1];
  else {
    const half = Math.floor((i + 1) / 2);
    if ((i + 1) % 2 === 0) {
      if (half === n + 1) [j1, j2] = [n - ll - ceilF - 1, n + ll + ceilF - 1];
      else [j1, j2] = [half - 1 - ll - roundF - 1, half + ll - 1 + ceilF - 1];
    } else [j1, j2] = [half - 1 - ll - 1, half + ll + roundF - 1];
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** Pr(D_n <= x) by Pomeranz's (1974) recursion: rows are convolutions with near-Poisson weights. */
function pomeranzCdf(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilF = f > 0 ? 1 : 0;
  const roundF = f > 0.5 ? 1 : 0;
  const size = 2 * (ll + 1);
  const weights = [g / n, (2 * g) / n, (1 - 2 * g) / n].map((ratio) => {
    const powers = new Float64Array(size);
    powers[0] = 1;
    for (let m = 1; m < size; m++) powers[m] = (powers[m - 1]! * ratio) / m;
    return powers;
  });
  const [single, double, remainder] = weights as [Float64Array, Float64Array, Float64Array];
  let previous = new Float64Array(size);
  let current = new Float64Array(size);
  current[0] = 1;
  let previousStart = 0;
  let currentStart = 0;
  let exponent = 0;
  let [j1] = pomeranzBand(0, n, ll, ceilF, roundF);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [previous, current] = [current, previous];
    [previousStart, currentStart] = [currentStart, previousStart];
    current.fill(0);
    const band = pomeranzBand(i, n, ll, ceilF, roundF);
    j1 = band[0];
    const j2 = band[1];
    const powers = i === 1 || i === 2 * n + 1 ? single : i % 2 ? double : remainder;
    const width = j2 - k1 + 1;
    if (width <= 0) continue;
    for (let out = 0; out <= j2 - j1; out++) {
      const lag = out + j1 - k1; // index into the full convolution of previous[k1..] with powers[..width]
      let sum = 0;
      for (let a = Math.max(0, lag - width + 1); a <= Math.min(lag, width - 1); a++) sum += (previous[k1 - previousStart + a] ?? 0) * (powers[lag - a] ?? 0);
      current[out] = sum;
    }
    const largest = current.reduce((max, value) => Math.max(max, value), 0);
    if (largest > 0 && largest < SCALE_DOWN) {
      for (let index = 0; index < size; index++) current[index]! *= SCALE_UP;
      exponent -= SCALE_EXPONENT;
    }
    currentStart = previousStart + j1 - k1;
  }
  let answer = current[n - currentStart]!;
  for (let m = 1; m <= n; m++) {
    if (Math.abs(answer) > SCALE_UP) {
      answer *= SCALE_DOWN;
      exponent += SCALE_EXPONENT;
    }
    answer *= m;
  }
  return clip(exponent === 0 ? answer : ldexp(answer, exponent));
}

/** Pelz and Good's (1976) expansion of Pr(D_n <= x), for small x·sqrt(n). Not clipped, as in SciPy. */
function pelzGoodCdf(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const [z2, z3, z4, z6] = [z ** 2, z ** 3, z ** 4, z ** 6];
  const qLog = -(Math.PI ** 2) / 8 / z2;
  if (qLog < MIN_LOG) return 0;
  let q = Math.exp(qLog);
  const pi2 = Math.PI ** 2;
  const pi4 = Math.PI ** 4;
  const pi6 = Math.PI ** 6;
  const [k1a, k1b] = [-z2, pi2 / 4];
  const [k2a, k2b, k2c] = [6 * z6 + 2 * z4, ((2 * z4 - 5 * z2) * pi2) / 4, (pi4 * (1 - 2 * z2)) / 16];
  const [k3a, k3b, k3c, k3d] = [-30 * z6 - 90 * z ** 8, (pi2 * (135 * z4 - 96 * z6)) / 4, (pi4 * (-60 * z2 + 212 * z4)) / 16, (pi6 * (5 - 30 * z2)) / 64];
  const terms = [0, 0, 0, 0];
  const maxK = Math.ceil((16 * z) / Math.PI);
  for (let k = maxK; k > 0; k--) {
    const m = 2 * k - 1;
    const [m2, m4, m6] = [m ** 2, m ** 4, m ** 6];
    const qPower = q ** (8 * k);
    const coefficients = [1, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
    for (let index = 0; index < 4; index++) terms[index] = terms[index]! * qPower + coefficients[index]!;
  }
  const divisors = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let index = 0; index < 4; index++) terms[index] = (terms[index]! * q * SQRT_2PI) / divisors[index]!;
  q = Math.exp(-pi2 / 2 / z2);
  let k2Extra = 0;
  let k3Extra = 0;
  for (let k = maxK; k > 0; k--) {
    const weighted = k ** 2 * q ** (k ** 2);
    k2Extra += weighted;
    k3Extra += (Math.sqrt(3) * z + Math.PI * k) * (Math.sqrt(3) * z - Math.PI * k) * weighted;
  }
  terms[2]! += (k2Extra * pi2 * SQRT_2PI) / (-36 * z3);
  terms[3]! += (k3Extra * pi2 * SQRT_2PI) / (216 * z6);
  return terms.reduce((sum, term, index) => sum + term / n ** (index / 2), 0);
}

/** P(D_n+ >= x), the one-sided Smirnov tail, by the Birnbaum-Tingey sum in log space. */
export function smirnovSf(n: number, x: number): number {
  if (n === 1) return 1 - x;
  if (x <= 0) return 1;
  if (x >= 1) return 0;
  const nx = n * x;
  const nxFloor = Math.floor(nx);
  const alpha = nx - nxFloor;
  if (nxFloor === 0 || (nxFloor === 1 && alpha === 0)) return 1 - x * (1 + x) ** (n - 1);
  if (-2 * n * x * x < MIN_EXP_LOG) return 0;
  if (nxFloor >= n - 1) return (1 - x) ** n;
  if (n > 1_000_000) {
    const logP = -((6 * nx + 1) ** 2) / 18 / n;
    return logP < -Math.LN2 ? Math.exp(logP) : 1 + Math.expm1(logP);
  }
  const lastTerm = n - nxFloor - 1; // the last v with 1 - x - v/n > 0
  let sum = (1 - x) ** n / x;
  let logBinomial = Math.log(n);
  for (let v = 1; v <= lastTerm; v++) {
    const term = Math.exp(logBinomial + (v - 1) * Math.log((nx + v) / n) + (n - v) * Math.log((n - v - nx) / n));
    sum += term;
    if (term !== 0 && 4 * (lastTerm + 1 - v) * term < Number.EPSILON * sum && v !== lastTerm) break;
    if (term === 0 && v > n / 2) break;
    logBinomial += Math.log((n - v) / (v + 1));
  }
  return clip(x * sum);
}

/** SciPy's `kstwo.sf(x, n)`: Pr(D_n >= x) for the two-sided one-sample statistic. */
export function kolmogorovSf(n: number, x: number): number {
  if (!Number.isInteger(n) || n <= 0 || Number.isNaN(x)) return Number.NaN;
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    let cdf = 1;
    if (n <= 140) for (let i = 1; i <= n; i++) cdf *= i * (1 / n) * (2 * t - 1);
    else cdf = Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1));
    return clip(1 - cdf);
  }
  if (t >= n - 1) return clip(2 * (1 - x) ** n);
  if (x >= 0.5) return clip(2 * smirnovSf(n, x));
  const nxSquared = t * x;
  if (n <= 140) {
    if (nxSquared <= 0.754693) return clip(1 - durbinMatrixCdf(n, x));
    if (nxSquared <= 4) return clip(1 - pomeranzCdf(n, x));
    return clip(2 * smirnovSf(n, x));
  }
  if (nxSquared >= 370) return 0;
  if (nxSquared >= 2.2) return clip(2 * smirnovSf(n, x));
  const cdf = n <= 100_000 && n * x ** 1.5 <= 1.4 ? durbinMatrixCdf(n, x) : pelzGoodCdf(n, x);
  return clip(1 - cdf);
}
