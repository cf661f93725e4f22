import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chiSquareContingency, jensenShannonDistance, populationStabilityIndex, proportionZTest } from '../../../../../shared/domain/drift/count-statistics.js';
import { datasetDrift, type FeatureDrift } from '../../../../../shared/domain/drift/drift-result.js';
import { kolmogorovSf } from '../../../../../shared/domain/drift/kolmogorov-distribution.js';
import { ksExactPValue, ksTwoSampleTest, roundHalfEven } from '../../../../../shared/domain/drift/kolmogorov-smirnov.js';
import { defaultMethod, driftSettingsFromTags, isDrifted, settingsFor } from '../../../../../shared/domain/drift/methods.js';
import { chiSquareSf, erfc, logGamma, normalSf } from '../../../../../shared/domain/drift/special-functions.js';
import { FIXTURES } from '../../../../support/paths.js';

interface Fixture {
  kstwo_sf: { n: number; x: number; sf: number }[];
  ks_exact: { n1: number; n2: number; d: number; rounded_d: number; p: number }[];
}
const fixture = JSON.parse(readFileSync(join(FIXTURES, 'drift-reference.json'), 'utf8')) as Fixture;

describe('KS p-values against SciPy', () => {
  // The Birnbaum-Tingey tail is summed in log space (SciPy uses double-double): 1e-11 absolute is what that gives.
  it.each(fixture.kstwo_sf.map((c) => ({ ...c, label: `n=${c.n} x=${c.x.toPrecision(4)}` })))('kstwo.sf at $label', ({ n, x, sf }) => {
    expect(Math.abs(kolmogorovSf(n, x) - sf)).toBeLessThan(1e-11);
  });

  it('gives the exact two-sample p-value for every (n1, n2, d) of the grid, equal sizes included', () => {
    expect(fixture.ks_exact.length).toBeGreaterThan(40);
    for (const { n1, n2, d, p } of fixture.ks_exact) expect(Math.abs(ksExactPValue(n1, n2, d)! - p), `${n1} ${n2} ${d}`).toBeLessThan(1e-12);
  });

  it('switches to the asymptotic distribution above 10,000 values, like method="auto"', () => {
    expect(ksTwoSampleTest(10_000, 9_000, 0.02).method).toBe('exact');
    expect(ksTwoSampleTest(10_001, 9_000, 0.02).method).toBe('asymptotic');
    expect(ksTwoSampleTest(400, 500, 0).pValue).toBe(1);
  });

  it('rounds halves to even like numpy', () => {
    expect([0.5, 1.5, 2.5, 3.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, 4, 2, 3]);
  });
});

describe('special functions', () => {
  it('match known values', () => {
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 14);
    expect(logGamma(101)).toBeCloseTo(363.73937555556347, 10);
    expect(erfc(1)).toBeCloseTo(0.15729920705028513, 15);
    expect(normalSf(1.959963984540054)).toBeCloseTo(0.025, 15);
    expect(chiSquareSf(3.841458820694124, 1)).toBeCloseTo(0.05, 14);
    expect(chiSquareSf(0, 4)).toBe(1);
  });
});

describe('count statistics', () => {
  it('handles a category seen on one side only', () => {
    expect(jensenShannonDistance([10, 0], [0, 10])).toBeCloseTo(Math.sqrt(Math.LN2), 15);
    expect(populationStabilityIndex([10, 0], [5, 5])).toBeGreaterThan(1);
  });

  it('reports no drift for a single category or a constant binary feature', () => {
    expect(chiSquareContingency([30], [40])).toEqual({ statistic: 0, pValue: 1, dof: 0 });
    expect(proportionZTest([30], [40])).toEqual({ statistic: 0, pValue: 1 });
  });
});

describe('method choice', () => {
  it('follows Evidently: small references get tests, large ones distances', () => {
    expect(defaultMethod('numeric', 1000, 6)).toBe('ks');
    expect(defaultMethod('numeric', 1000, 5)).toBe('chi_square');
    expect(defaultMethod('categorical', 500, 2)).toBe('z_test');
    expect(defaultMethod('categorical', 500, 3)).toBe('chi_square');
    expect(defaultMethod('numeric', 1001, 6)).toBe('wasserstein');
    expect(defaultMethod('categorical', 1001, 2)).toBe('jensen_shannon');
  });

  it('drifts below a p-value threshold and at or above a distance threshold', () => {
    expect(isDrifted('ks', 0.049, 0.05)).toBe(true);
    expect(isDrifted('ks', 0.05, 0.05)).toBe(false);
    expect(isDrifted('wasserstein', 0.1, 0.1)).toBe(true);
    expect(isDrifted('psi', 0.09, 0.1)).toBe(false);
  });

  it('reads per-feature settings from tags, with * for every feature, and reports bad ones', () => {
    const settings = driftSettingsFromTags({
      'drift.*.method': 'psi',
      'drift.tenure.method': 'ks',
      'drift.tenure.threshold': '0.01',
      'drift.outputs.probability.bins': '20',
      'drift.plan.method': 'magic',
      'drift.share': '0.3',
      team: 'growth',
    });
    expect(settingsFor(settings, 'tenure')).toEqual({ method: 'ks', threshold: 0.01 });
    expect(settingsFor(settings, 'age')).toEqual({ method: 'psi' });
    expect(settingsFor(settings, 'outputs.probability')).toEqual({ method: 'psi', bins: 20 });
    expect(settings.datasetDriftShare).toBe(0.3);
    expect(settings.problems).toEqual([expect.stringMatching(/drift\.plan\.method: unknown method "magic"/)]);
  });

  it('counts dataset drift over input features only', () => {
    const feature = (name: string, drifted: boolean) => ({ feature: name, drifted }) as FeatureDrift;
    const features = [feature('a', true), feature('b', false), feature('outputs.label', true)];
    expect(datasetDrift(features, 0.5)).toEqual({ value: 0.5, drifted: true });
    expect(datasetDrift([feature('a', true), feature('b', false), feature('c', false)], 0.5)).toEqual({ value: 1 / 3, drifted: false });
  });
});
