import { describe, expect, it } from 'vitest';
import { groupCountsOf, groupCountsQuery } from '../../../../shared/domain/fairness/fairness-query.js';
import { monitoringDialect } from '../../../../shared/domain/drift/sql-dialect.js';
import { GroundTruthRecord } from '../../../../shared/domain/events.js';
import type { SqlDialect } from '../../../../shared/domain/sql.js';

const window = { model: 'loans', version: 3, start: new Date('2026-05-01T00:00:00Z'), end: new Date('2026-05-02T00:00:00Z') };
const prediction = { label: 'output_label', positive: '1', positives: ['1', 'true'] };
const queryFor = (dialect: SqlDialect) => groupCountsQuery(monitoringDialect(dialect), window, 'sex', prediction);

describe.each(['bigquery', 'duckdb'] as const)('the group counts SQL for %s', (dialect) => {
  const query = queryFor(dialect);

  it('binds every @parameter, names tables as {{table}} and balances parentheses', () => {
    const named = [...new Set([...query.sql.matchAll(/@(\w+)/g)].map((match) => match[1]!))].sort();
    expect(named).toEqual(['end', 'model', 'positive_0', 'positive_1', 'start', 'version']);
    expect(query.params).toMatchObject({ model: 'loans', version: 3, positive_0: '1', positive_1: 'true' });
    expect(query.sql).not.toMatch(/\bFROM (predictions|ground_truth)\b/);
    expect(query.sql.split('(').length).toBe(query.sql.split(')').length);
  });

  it('reads the window once, joined to ground truth deduped per prediction, and bounds the groups', () => {
    expect(query.sql.match(/\{\{predictions\}\}/g)).toHaveLength(1);
    expect(query.sql).toContain('FROM {{ground_truth}} WHERE observed_time >= @start GROUP BY prediction_id');
    expect(query.sql).toContain('COALESCE(p.feature_group, g.truth_group) AS group_value');
    expect(query.sql).toMatch(/GROUP BY group_value ORDER BY predictions DESC, group_value LIMIT 52$/);
  });
});

describe('the BigQuery group counts SQL', () => {
  it('reads features, outputs and attributes with JSON_VALUE and uses no DuckDB-only syntax', () => {
    const { sql } = queryFor('bigquery');
    expect(sql).toContain(`JSON_VALUE(features, '$."sex"') AS feature_group`);
    expect(sql).toContain(`JSON_VALUE(outputs, '$."output_label"') AS predicted`);
    expect(sql).toContain(`MAX(JSON_VALUE(attributes, '$."sex"')) AS truth_group`);
    for (const pattern of [/json_extract_string/i, /TRY_CAST/, /::/, /\bBIGINT\b/, /\bDOUBLE\b/]) expect(sql).not.toMatch(pattern);
  });
});

describe('a group counts row', () => {
  it('reads as numbers, with BigQuery’s counts as text and absent sums as 0', () => {
    expect(
      groupCountsOf({
        group_value: 'F',
        predictions: '12',
        predicted_positive: 4,
        labelled: 10,
        correct: 7,
        true_positives: 3,
        false_positives: 1,
        true_negatives: 4,
        false_negatives: null,
      }),
    ).toEqual({
      group: 'F',
      predictions: 12,
      predictedPositive: 4,
      labelled: 10,
      correct: 7,
      truePositives: 3,
      falsePositives: 1,
      trueNegatives: 4,
      falseNegatives: 0,
    });
  });
});

describe('ground truth attributes', () => {
  const record = { predictionId: 'p-1', label: 1, observedTime: '2026-05-02T00:00:00Z' };

  it('are optional scalars by name, kept as sent', () => {
    expect(GroundTruthRecord.parse(record).attributes).toBeUndefined();
    expect(GroundTruthRecord.parse({ ...record, attributes: { sex: 'F', age: 41, member: true } }).attributes).toEqual({ sex: 'F', age: 41, member: true });
  });

  it.each([
    ['an array', ['F']],
    ['a nested object', { sex: { value: 'F' } }],
    ['a null value', { sex: null }],
    ['an empty name', { '': 'F' }],
    ['more than 32', Object.fromEntries(Array.from({ length: 33 }, (_, index) => [`a${index}`, 'x']))],
  ])('refuse %s, naming the field', (_, attributes) => {
    const parsed = GroundTruthRecord.safeParse({ ...record, attributes });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path[0]).toBe('attributes');
  });
});
