import type { BigQuery } from '@google-cloud/bigquery';
import { describe, expect, it } from 'vitest';
import { replaceStatement } from '../../../../../shared/adapters/bigquery/bigquery-merge.js';
import { BigQueryWarehouse } from '../../../../../shared/adapters/bigquery/bigquery-warehouse.js';
import { PlatformError } from '../../../../../shared/domain/errors.js';
import { tableSchema } from '../../../../../shared/domain/tables.js';

const driftMetrics = tableSchema('drift_metrics');
const slice = { model: 'churn', version: 3, window_start: '2026-01-01T00:00:00Z', window_end: new Date('2026-01-02T00:00:00Z') };
const metric = (feature: string, value: number) => ({
  ...slice,
  feature,
  method: 'wasserstein',
  value,
  threshold: 0.1,
  drifted: value >= 0.1,
  reference_size: 5_000_000_000,
  current_size: 1200,
  computed_at: '2026-01-02T00:05:00.000Z',
});

describe('replaceStatement', () => {
  it('is one MERGE that deletes the slice and inserts the rows read from a JSON parameter', () => {
    const { sql } = replaceStatement(driftMetrics, slice, [metric('tenure', 0.25)]);
    expect(sql).toBe(
      'MERGE {{drift_metrics}} AS target USING (SELECT ' +
        'JSON_VALUE(row, \'$."model"\') AS `model`, CAST(JSON_VALUE(row, \'$."version"\') AS INT64) AS `version`, ' +
        'JSON_VALUE(row, \'$."feature"\') AS `feature`, JSON_VALUE(row, \'$."method"\') AS `method`, ' +
        'CAST(JSON_VALUE(row, \'$."value"\') AS FLOAT64) AS `value`, CAST(JSON_VALUE(row, \'$."threshold"\') AS FLOAT64) AS `threshold`, ' +
        'CAST(JSON_VALUE(row, \'$."drifted"\') AS BOOL) AS `drifted`, TIMESTAMP(JSON_VALUE(row, \'$."window_start"\')) AS `window_start`, ' +
        'TIMESTAMP(JSON_VALUE(row, \'$."window_end"\')) AS `window_end`, CAST(JSON_VALUE(row, \'$."reference_size"\') AS INT64) AS `reference_size`, ' +
        'CAST(JSON_VALUE(row, \'$."current_size"\') AS INT64) AS `current_size`, TIMESTAMP(JSON_VALUE(row, \'$."computed_at"\')) AS `computed_at` ' +
        'FROM UNNEST(JSON_QUERY_ARRAY(@rows)) AS row) AS source ON FALSE ' +
        'WHEN NOT MATCHED BY SOURCE AND target.`model` = @where_model AND target.`version` = @where_version ' +
        'AND target.`window_start` = @where_window_start AND target.`window_end` = @where_window_end THEN DELETE ' +
        'WHEN NOT MATCHED BY TARGET THEN INSERT (`model`, `version`, `feature`, `method`, `value`, `threshold`, `drifted`, `window_start`, `window_end`, ' +
        '`reference_size`, `current_size`, `computed_at`) VALUES (`model`, `version`, `feature`, `method`, `value`, `threshold`, `drifted`, ' +
        '`window_start`, `window_end`, `reference_size`, `current_size`, `computed_at`)',
    );
  });

  it('sends numbers as exact text, timestamps as ISO strings, and the slice as typed parameters', () => {
    const { params } = replaceStatement(driftMetrics, slice, [metric('tenure', 0.1 + 0.2)]);
    expect(JSON.parse(params.rows as string)).toEqual([
      {
        model: 'churn',
        version: '3',
        feature: 'tenure',
        method: 'wasserstein',
        value: '0.30000000000000004',
        threshold: '0.1',
        drifted: true,
        window_start: '2026-01-01T00:00:00.000Z',
        window_end: '2026-01-02T00:00:00.000Z',
        reference_size: '5000000000',
        current_size: '1200',
        computed_at: '2026-01-02T00:05:00.000Z',
      },
    ]);
    expect(params).toMatchObject({ where_model: 'churn', where_version: 3 });
    expect(params.where_window_start).toEqual(new Date('2026-01-01T00:00:00Z'));
    expect(params.where_window_end).toEqual(new Date('2026-01-02T00:00:00Z'));
  });

  it('reads JSON columns back as JSON and leaves null values out (NULL in the table)', () => {
    const { sql, params } = replaceStatement(tableSchema('predictions'), { model: 'churn' }, [
      {
        prediction_id: 'p1',
        model: 'churn',
        version: 1,
        request_time: '2026-01-01T00:00:00Z',
        features: { a: [1, 2] },
        outputs: { label: 1 },
        latency_ms: null,
        source: 'online',
      },
    ]);
    expect(sql).toContain('PARSE_JSON(JSON_QUERY(row, \'$."features"\')) AS `features`');
    expect(JSON.parse(params.rows as string)[0]).not.toHaveProperty('latency_ms');
    expect(JSON.parse(params.rows as string)[0].features).toEqual({ a: [1, 2] });
  });

  it('still deletes the slice when there are no rows', () => {
    const { sql, params } = replaceStatement(driftMetrics, { model: 'churn', version: 3 }, []);
    expect(params.rows).toBe('[]');
    expect(sql).toContain('WHEN NOT MATCHED BY SOURCE AND target.`model` = @where_model AND target.`version` = @where_version THEN DELETE');
  });

  it.each([
    ['an empty where', {}, [], /where is empty/],
    ['an unknown column', { modell: 'churn' }, [], /"modell", which is not a column/],
    ['a value of the wrong type', { version: '3' }, [], /where "version" must be a INT64/],
    ['a row outside the slice', { model: 'churn', version: 3 }, [metric('tenure', 0.2), { ...metric('plan', 0.2), version: 4 }], /row 1 has version 4/],
  ])('refuses %s, permanently', (_, where, rows, message) => {
    let caught: unknown;
    try {
      replaceStatement(driftMetrics, where, rows);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PlatformError);
    expect((caught as PlatformError).code).toBe('WAREHOUSE.INVALID_ROW');
    expect((caught as PlatformError).permanent).toBe(true);
    expect((caught as PlatformError).message).toMatch(message);
  });
});

describe('BigQueryWarehouse.replace', () => {
  it('runs the MERGE qualified with project and dataset, in the dataset location', async () => {
    const calls: { query: string; params: Record<string, unknown>; location: string }[] = [];
    const query = async (request: (typeof calls)[number]) => {
      calls.push(request);
      return [[]];
    };
    const client = { query } as unknown as BigQuery;
    const warehouse = new BigQueryWarehouse({ projectId: 'acme', dataset: 'mlops', location: 'EU', client });
    await warehouse.replace('drift_metrics', slice, [metric('tenure', 0.25), metric('tenure', 0.5)]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.query).toMatch(/^MERGE `acme\.mlops\.drift_metrics` AS target /);
    expect(calls[0]!.location).toBe('EU');
    expect(JSON.parse(calls[0]!.params.rows as string)).toHaveLength(1); // a repeated key is sent once
  });
});
