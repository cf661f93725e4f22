import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  attributionDrift,
  attributionSettingsFromTags,
  attributionThresholdFor,
  importanceShares,
  meanAbsoluteAttributions,
  ndcg,
  sampleQuery,
} from '../../../../shared/domain/explain/attribution-drift.js';
import { datasetSource } from '../../../../shared/domain/drift/drift-queries.js';
import { monitoringDialect } from '../../../../shared/domain/drift/sql-dialect.js';
import { FIXTURES } from '../../../support/paths.js';

interface Fixture {
  ndcg: { relevance: number[]; scores: number[]; ndcg: number }[];
}
const fixture = JSON.parse(readFileSync(join(FIXTURES, 'attribution-reference.json'), 'utf8')) as Fixture;
const byName = (values: number[]) => Object.fromEntries(values.map((value, index) => [`f${index}`, value]));
const { settings: defaults } = attributionSettingsFromTags({});

describe('attribution settings from tags', () => {
  it('documents its defaults: 200 rows, 32 permutations, share threshold 0.1, nDCG at least 0.9', () => {
    expect(attributionSettingsFromTags({})).toEqual({
      settings: { sample: 200, permutations: 32, threshold: 0.1, featureThresholds: {}, minNdcg: 0.9 },
      problems: [],
    });
  });

  it('reads every tag, a feature threshold over the default', () => {
    const { settings, problems } = attributionSettingsFromTags({
      'attribution.sample': '50',
      'attribution.samples': '100',
      'attribution.threshold': '0.2',
      'attribution.age.threshold': '0.05',
      'attribution.min_ndcg': '0.8',
      'drift.age.threshold': '0.3',
    });
    expect(problems).toEqual([]);
    expect(settings).toEqual({ sample: 50, permutations: 100, threshold: 0.2, featureThresholds: { age: 0.05 }, minNdcg: 0.8 });
    expect(attributionThresholdFor(settings, 'age')).toBe(0.05);
    expect(attributionThresholdFor(settings, 'tenure')).toBe(0.2);
  });

  it('reports a value it cannot read and keeps the default', () => {
    const { settings, problems } = attributionSettingsFromTags({
      'attribution.sample': '0',
      'attribution.samples': '2.5',
      'attribution.threshold': 'high',
      'attribution.age.threshold': '1.5',
      'attribution.min_ndcg': '',
    });
    expect(settings).toEqual(defaults);
    expect(problems).toEqual([
      'attribution.sample: "0" is not an integer from 1 to 1000',
      'attribution.samples: "2.5" is not an integer from 1 to 1000',
      'attribution.threshold: "high" is not a share in (0, 1]',
      'attribution.age.threshold: "1.5" is not a share in (0, 1]',
      'attribution.min_ndcg: "" is not a value in (0, 1]',
    ]);
  });
});

describe('importance', () => {
  it('is the mean absolute attribution, 0 for a feature no explanation carries', () => {
    const explanations = [{ attributions: { a: 1, b: -3 } }, { attributions: { a: -0.5, b: 1 } }];
    expect(meanAbsoluteAttributions(explanations, ['a', 'b', 'c'])).toEqual({ a: 0.75, b: 2, c: 0 });
    expect(meanAbsoluteAttributions([], ['a'])).toEqual({ a: 0 });
  });

  it('shares add up to 1, and are all 0 for a model that moves nothing', () => {
    expect(importanceShares({ a: 1, b: 3 })).toEqual({ a: 0.25, b: 0.75 });
    expect(importanceShares({ a: 0, b: 0 })).toEqual({ a: 0, b: 0 });
  });
});

describe('nDCG', () => {
  it.each(fixture.ndcg.map((entry, index) => ({ ...entry, index })))(
    'agrees with scikit-learn ndcg_score (case $index)',
    ({ relevance, scores, ndcg: expected }) => {
      expect(Math.abs(ndcg(byName(relevance), byName(scores)) - expected)).toBeLessThan(1e-12);
    },
  );

  it('is 1 for the ideal order and the closed form for a reversed one', () => {
    const relevance = { a: 3, b: 2, c: 1 };
    expect(ndcg(relevance, { a: 0.9, b: 0.5, c: 0.1 })).toBe(1);
    const reversed = (1 + 2 / Math.log2(3) + 3 / 2) / (3 + 2 / Math.log2(3) + 1 / 2);
    expect(ndcg(relevance, { a: 0.1, b: 0.5, c: 0.9 })).toBeCloseTo(reversed, 14);
  });

  it('does not depend on the order of tied scores, and is 1 when nothing is relevant', () => {
    expect(ndcg({ a: 3, b: 1 }, { a: 1, b: 1 })).toBe(ndcg({ b: 1, a: 3 }, { b: 1, a: 1 }));
    expect(ndcg({ a: 0, b: 0 }, { a: 1, b: 0 })).toBe(1);
  });
});

describe('attribution drift', () => {
  const explanations = (rows: number[][]) => rows.map((row) => ({ attributions: byName(row) }));
  const reference = explanations([
    [1, 1, 1, 1],
    [-1, -1, -1, -1],
  ]);

  it('drifts exactly the feature whose importance moved, by its change over the reference’s total', () => {
    // Importances 1, 1, 1, 1 against 2, 1, 1, 1: f0 moved by 1 of the reference's 4. The window's
    // shares (0.4, 0.2, 0.2, 0.2) moved for every feature, which is why they are not what drifts.
    const drift = attributionDrift(['f0', 'f1', 'f2', 'f3'], reference, explanations([[2, -1, 1, 1]]), defaults);
    expect(drift.features.map(({ feature, value, drifted }) => [feature, Number(value.toFixed(12)), drifted])).toEqual([
      ['f0', 0.25, true],
      ['f1', 0, false],
      ['f2', 0, false],
      ['f3', 0, false],
    ]);
    expect(drift.features[0]).toMatchObject({ referenceImportance: 1, currentImportance: 2, referenceShare: 0.25, currentShare: 0.4, threshold: 0.1 });
  });

  it('takes a feature its own threshold', () => {
    const { settings } = attributionSettingsFromTags({ 'attribution.f0.threshold': '0.3', 'attribution.f1.threshold': '0.04' });
    const drift = attributionDrift(['f0', 'f1', 'f2', 'f3'], reference, explanations([[2, -1.2, 1, 1]]), settings);
    expect(drift.features.filter((feature) => feature.drifted).map((feature) => feature.feature)).toEqual(['f1']);
  });

  it('flags the ranking when its nDCG falls below the minimum', () => {
    const steep = explanations([[8, 4, 2, 1]]);
    const reversed = attributionDrift(['f0', 'f1', 'f2', 'f3'], steep, explanations([[1, 2, 4, 8]]), defaults);
    expect(reversed.ndcg.value).toBeCloseTo(ndcg(byName([8, 4, 2, 1]), byName([1, 2, 4, 8])), 14);
    expect(reversed.ndcg).toMatchObject({ threshold: 0.9, drifted: true });
    expect(attributionDrift(['f0', 'f1', 'f2', 'f3'], steep, steep, defaults).ndcg).toEqual({ value: 1, threshold: 0.9, drifted: false });
  });
});

describe('the sample query', () => {
  const source = datasetSource('train-2026');

  it('takes the first rows in a fingerprint order of the document on BigQuery, by hash on DuckDB', () => {
    expect(sampleQuery(monitoringDialect('bigquery'), source, 200)).toEqual({
      sql: 'SELECT doc FROM (SELECT features AS doc FROM {{offline_features}} WHERE dataset_id = @ref_dataset) AS s ORDER BY FARM_FINGERPRINT(TO_JSON_STRING(doc)) LIMIT 200',
      params: { ref_dataset: 'train-2026' },
    });
    expect(sampleQuery(monitoringDialect('duckdb'), source, 200).sql).toMatch(/ ORDER BY hash\(CAST\(doc AS VARCHAR\)\) LIMIT 200$/);
  });

  it('writes the limit as a non-negative integer whatever it is given', () => {
    expect(sampleQuery(monitoringDialect('duckdb'), source, 12.7).sql).toMatch(/LIMIT 12$/);
    expect(sampleQuery(monitoringDialect('duckdb'), source, -3).sql).toMatch(/LIMIT 0$/);
  });
});
