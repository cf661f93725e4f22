import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { regularizedIncompleteBeta, studentTTwoSidedSf } from '../../../../../shared/domain/drift/special-functions.js';
import { type SampleSummary, twoProportionZTest, welchTTest } from '../../../../../shared/domain/stats/significance.js';
import { FIXTURES } from '../../../../support/paths.js';

// References from SciPy, regenerated with: /usr/bin/python3 scripts/fixtures/significance_reference.py
interface Fixture {
  proportions: { s1: number; n1: number; s2: number; n2: number; z: number; p: number }[];
  welch: { a: SampleSummary; b: SampleSummary; t: number; df: number; p: number }[];
  t_two_sided: { t: number; df: number; p: number }[];
}
const fixture = JSON.parse(readFileSync(join(FIXTURES, 'significance-reference.json'), 'utf8')) as Fixture;

/** Within 1e-9 absolute, and within 1e-9 relative too where the reference is tiny (a p-value of 1e-40 must not pass as 0). */
const close = (actual: number, expected: number) => Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)) && relativeOk(actual, expected);
const relativeOk = (actual: number, expected: number) => expected === 0 || Math.abs(actual / expected - 1) < 1e-9;

describe('two-proportion z-test against SciPy (pooled variance)', () => {
  it.each(fixture.proportions.map((c) => ({ ...c, label: `${c.s1}/${c.n1} vs ${c.s2}/${c.n2}` })))('$label', ({ s1, n1, s2, n2, z, p }) => {
    const result = twoProportionZTest(s1, n1, s2, n2);
    expect(close(result.z, z), `z ${result.z} against ${z}`).toBe(true);
    expect(close(result.pValue, p), `p ${result.pValue} against ${p}`).toBe(true);
  });

  it('sees no difference when both samples are all successes, and refuses impossible counts', () => {
    expect(twoProportionZTest(10, 10, 20, 20)).toEqual({ z: 0, pValue: 1 });
    expect(() => twoProportionZTest(11, 10, 1, 2)).toThrow(/successes from 0 to the trials; got 11 of 10/);
    expect(() => twoProportionZTest(0, 0, 1, 2)).toThrow(/Sample A/);
  });
});

describe("Welch's t-test against scipy.stats.ttest_ind(equal_var=False)", () => {
  it.each(fixture.welch.map((c) => ({ ...c, label: `n=${c.a.n}/${c.b.n} t=${c.t.toPrecision(4)}` })))('$label', ({ a, b, t, df, p }) => {
    const result = welchTTest(a, b);
    expect(close(result.t, t), `t ${result.t} against ${t}`).toBe(true);
    expect(close(result.df, df), `df ${result.df} against ${df}`).toBe(true);
    expect(close(result.pValue, p), `p ${result.pValue} against ${p}`).toBe(true);
  });

  it('handles samples without variance and refuses samples too small for one', () => {
    expect(welchTTest({ mean: 1, variance: 0, n: 5 }, { mean: 1, variance: 0, n: 5 }).pValue).toBe(1);
    expect(welchTTest({ mean: 2, variance: 0, n: 5 }, { mean: 1, variance: 0, n: 5 })).toMatchObject({ t: Number.POSITIVE_INFINITY, pValue: 0 });
    expect(() => welchTTest({ mean: 1, variance: 0, n: 1 }, { mean: 1, variance: 1, n: 5 })).toThrow(/at least 2 values.*n=1/);
    expect(() => welchTTest({ mean: 1, variance: -1, n: 3 }, { mean: 1, variance: 1, n: 5 })).toThrow(/variance of at least 0/);
  });
});

describe('Student t tail from the regularized incomplete beta', () => {
  it.each(fixture.t_two_sided)('P(|T| > $t) on $df degrees of freedom', ({ t, df, p }) => {
    const actual = studentTTwoSidedSf(t, df);
    expect(close(actual, p), `${actual} against ${p}`).toBe(true);
  });

  it('is a CDF: 0 and 1 at the ends, symmetric under the swap of a and b', () => {
    expect(regularizedIncompleteBeta(2, 3, 0)).toBe(0);
    expect(regularizedIncompleteBeta(2, 3, 1)).toBe(1);
    // I_x(1, 1) = x and I_x(a, b) = 1 − I_{1−x}(b, a).
    expect(regularizedIncompleteBeta(1, 1, 0.3)).toBeCloseTo(0.3, 14);
    expect(regularizedIncompleteBeta(2.5, 4, 0.7) + regularizedIncompleteBeta(4, 2.5, 0.3)).toBeCloseTo(1, 14);
  });
});
