import { describe, expect, it } from 'vitest';
import { datasetSource, type PredictionWindow, type Query } from '../../../../shared/domain/drift/drift-queries.js';
import { referenceCategoriesQuery, referenceProfileQuery, refusalsQuery, windowChecksQuery } from '../../../../shared/domain/quality/quality-queries.js';
import type { SqlDialect } from '../../../../shared/domain/sql.js';
import { platformError } from '../../../support/errors.js';

const window: PredictionWindow = { model: 'churn', version: 3, start: new Date('2026-01-01T00:00:30Z'), end: new Date('2026-01-02T00:00:00Z') };
const reference = datasetSource('train-2026');
const FEATURES = [
  { key: 'tenure', kind: 'numeric' as const, range: { min: 0, max: 72 } },
  { key: 'plan', kind: 'categorical' as const, categories: ['basic', 'pro'] },
  { key: 'notes', kind: 'unknown' as const },
];

/** Every query data quality sends, built for one dialect. */
function queries(dialect: SqlDialect): Record<string, Query> {
  return {
    profile: referenceProfileQuery(dialect, reference, ['tenure', 'plan']),
    categories: referenceCategoriesQuery(dialect, reference, 'plan', 1001),
    window: windowChecksQuery(dialect, window, FEATURES),
    emptyWindow: windowChecksQuery(dialect, window, []),
    refusals: refusalsQuery(window),
  };
}

const DUCKDB_ONLY = [/json_extract_string/i, /json_type\(/, /TRY_CAST/, /list_contains/, /::/, /\$\w/, /\bBIGINT\b/, /\bDOUBLE\b/, /\w\[\d+\]/];

describe.each(['bigquery', 'duckdb'] as const)('data quality SQL for %s', (dialect) => {
  it.each(Object.entries(queries(dialect)))('%s binds every @parameter it names and names tables as {{table}}', (_, query) => {
    const named = [...new Set([...query.sql.matchAll(/@(\w+)/g)].map((match) => match[1]!))].sort();
    expect(named.filter((name) => !(name in query.params))).toEqual([]);
    expect(query.sql).not.toMatch(/\bFROM (predictions|request_outcomes|offline_features)\b/);
    expect(query.sql.split('(').length).toBe(query.sql.split(')').length);
  });

  it('counts each feature only the checks its kind has', () => {
    const { sql, params } = windowChecksQuery(dialect, window, FEATURES);
    const columns = [...sql.matchAll(/ AS ((?:missing|out_of_range|unseen_category|type_violation)_\d)\b/g)].map((match) => match[1]);
    expect(columns).toEqual([
      'missing_0',
      'out_of_range_0',
      'type_violation_0',
      'missing_1',
      'unseen_category_1',
      'type_violation_1',
      'missing_2',
      'type_violation_2',
    ]);
    expect(params).toMatchObject({ min_0: 0, max_0: 72, categories_1: ['basic', 'pro'] });
  });

  it('refuses a feature name it cannot put in a JSONPath', () => {
    expect(platformError(() => windowChecksQuery(dialect, window, [{ key: "x'; DROP", kind: 'unknown' }])).code).toBe('MONITORING.INVALID_FEATURE');
  });
});

describe('the BigQuery SQL', () => {
  it('uses no DuckDB-only function, type or syntax', () => {
    for (const [name, query] of Object.entries(queries('bigquery')))
      for (const pattern of DUCKDB_ONLY) expect(query.sql, `${name}: ${pattern}`).not.toMatch(pattern);
  });

  it('reads JSON types with JSON_TYPE and categories with IN UNNEST', () => {
    const { sql } = windowChecksQuery('bigquery', window, FEATURES);
    expect(sql).toContain(`UPPER(JSON_TYPE(JSON_QUERY(doc, '$."plan"')))`);
    expect(sql).toContain('t1 IN UNNEST(@categories_1)');
  });
});

describe('refusalsQuery', () => {
  it('counts the minute the window starts in, and only 4xx other than 401 and 403', () => {
    const { sql, params } = refusalsQuery(window);
    expect(params.from_minute).toEqual(new Date('2026-01-01T00:00:00Z'));
    expect(sql).toContain('status >= 400 AND status < 500 AND status NOT IN (401, 403)');
  });
});
