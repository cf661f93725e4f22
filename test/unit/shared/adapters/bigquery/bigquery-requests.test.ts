import { type BigQuery, BigQueryTimestamp } from '@google-cloud/bigquery';
import { describe, expect, it } from 'vitest';
import {
  dedupedSelect,
  fromBigQueryRow,
  inBatches,
  insertAllRows,
  missingFields,
  qualify,
  tableResource,
} from '../../../../../shared/adapters/bigquery/bigquery-requests.js';
import { BigQueryWarehouse } from '../../../../../shared/adapters/bigquery/bigquery-warehouse.js';
import { TABLES, tableSchema } from '../../../../../shared/domain/tables.js';

const predictions = tableSchema('predictions');
const driftMetrics = tableSchema('drift_metrics');

const prediction = (id: string) => ({
  prediction_id: id,
  model: 'churn',
  version: 3,
  request_time: new Date('2024-05-01T12:00:00Z'),
  features: { tenure: 12, tags: ['a'] },
  outputs: { probability: 0.75 },
  source: 'online',
});

describe('tableResource', () => {
  it.each(TABLES)('describes $name with every column, its mode, partitioning and clustering', (table) => {
    const resource = tableResource(table);
    const fields = (resource.schema as { fields: { name: string; type: string; mode: string }[] }).fields;
    expect(fields.map((field) => field.name)).toEqual(table.columns.map((column) => column.name));
    for (const [index, column] of table.columns.entries()) {
      expect(fields[index]).toMatchObject({ type: column.type, mode: column.required ? 'REQUIRED' : 'NULLABLE' });
    }
    expect(resource.timePartitioning).toEqual(table.partitionBy ? { type: 'DAY', field: table.partitionBy } : undefined);
    expect(resource.clustering).toEqual(table.clusterBy ? { fields: table.clusterBy } : undefined);
  });

  it('partitions predictions by request day and clusters by model and version', () => {
    const resource = tableResource(predictions);
    expect(resource.timePartitioning).toEqual({ type: 'DAY', field: 'request_time' });
    expect(resource.clustering).toEqual({ fields: ['model', 'version'] });
    expect(tableResource(tableSchema('ground_truth')).clustering).toBeUndefined();
  });
});

describe('insertAllRows', () => {
  it('gives the same key the same insertId on every call, and different keys different ids', () => {
    const [first] = insertAllRows(predictions, [prediction('p1')]);
    const [again, other] = insertAllRows(predictions, [{ ...prediction('p1'), version: 4 }, prediction('p2')]);
    expect(first?.insertId).toBe(again?.insertId);
    expect(first?.insertId).not.toBe(other?.insertId);
    expect(first?.insertId.length).toBeLessThanOrEqual(128);
  });

  it('derives the insertId from every key column, treating a Date and its ISO string alike', () => {
    const row = { model: 'm', version: 1, feature: 'f', method: 'ks', window_start: new Date('2024-05-01T00:00:00Z'), window_end: '2024-05-02T00:00:00Z' };
    const ids = insertAllRows(driftMetrics, [row, { ...row, window_start: '2024-05-01T00:00:00.000Z' }, { ...row, window_end: '2024-05-03T00:00:00Z' }]).map(
      (request) => request.insertId,
    );
    expect(ids[0]).toBe(ids[1]);
    expect(ids[0]).not.toBe(ids[2]);
  });

  it('sends JSON columns as JSON text, timestamps as ISO strings and leaves absent columns out', () => {
    const [request] = insertAllRows(predictions, [prediction('p1')]);
    expect(request?.json).toEqual({
      ...prediction('p1'),
      request_time: '2024-05-01T12:00:00.000Z',
      features: '{"tenure":12,"tags":["a"]}',
      outputs: '{"probability":0.75}',
    });
    expect(request?.json).not.toHaveProperty('latency_ms');
  });

  it('splits large batches into requests of at most 500 rows', () => {
    expect(inBatches(Array.from({ length: 1201 }, (_, index) => index)).map((batch) => batch.length)).toEqual([500, 500, 201]);
  });
});

describe('dedupedSelect', () => {
  it('keeps one row per key, filtering inside so partitions are pruned', () => {
    expect(dedupedSelect(driftMetrics, { where: 'window_end >= @since' })).toBe(
      'SELECT * EXCEPT(copy_number) FROM (' +
        'SELECT *, ROW_NUMBER() OVER (PARTITION BY `model`, `version`, `feature`, `method`, `window_start`, `window_end`) AS copy_number ' +
        'FROM {{drift_metrics}} WHERE window_end >= @since' +
        ') WHERE copy_number = 1',
    );
  });

  it('qualifies into a runnable query', () => {
    expect(qualify(dedupedSelect(predictions), 'proj', 'mlops')).toContain('FROM `proj.mlops.predictions`) WHERE copy_number = 1');
  });
});

describe('qualify', () => {
  it('replaces every {{table}} with `project.dataset.table`', () => {
    const sql = 'SELECT * FROM {{predictions}} p JOIN {{ ground_truth }} g USING (prediction_id) WHERE p.model = @model';
    expect(qualify(sql, 'my-project', 'mlops')).toBe(
      'SELECT * FROM `my-project.mlops.predictions` p JOIN `my-project.mlops.ground_truth` g USING (prediction_id) WHERE p.model = @model',
    );
  });
});

describe('fromBigQueryRow', () => {
  it('turns timestamps into ISO strings, also inside records, and keeps other values', () => {
    const row = { at: new BigQueryTimestamp('2024-05-01T12:00:00Z'), nested: { at: new BigQueryTimestamp(1714564800) }, n: 3, j: { a: 1 } };
    expect(fromBigQueryRow(row)).toEqual({ at: '2024-05-01T12:00:00.000Z', nested: { at: '2024-05-01T12:00:00.000Z' }, n: 3, j: { a: 1 } });
  });
});

describe('missingFields', () => {
  const fields = tableResource(tableSchema('predictions')).schema?.fields ?? [];

  it('names the optional columns an older table lacks, and nothing for a table up to date', () => {
    expect(missingFields(fields, tableSchema('predictions'))).toEqual([]);
    expect(
      missingFields(
        fields.filter((field) => field.name !== 'shadow_of'),
        tableSchema('predictions'),
      ).map((field) => field.name),
    ).toEqual(['shadow_of']);
  });

  it('never adds a required column (BigQuery refuses one on a table with rows)', () => {
    expect(
      missingFields(
        fields.filter((field) => field.name !== 'model'),
        tableSchema('predictions'),
      ),
    ).toEqual([]);
  });
});

describe('BigQueryWarehouse with a fake client', () => {
  const alreadyExists = Object.assign(new Error('Already Exists'), { code: 409 });

  function fakeClient() {
    const calls = { inserts: [] as unknown[][], tables: [] as string[], queries: [] as unknown[], patches: [] as unknown[] };
    // The predictions table as an older release made it: without the shadow_of column added since.
    const olderFields = (tableResource(tableSchema('predictions')).schema?.fields ?? []).filter((field) => field.name !== 'shadow_of');
    const table = {
      insert: async (rows: unknown[]) => void calls.inserts.push(rows),
      getMetadata: async () => [{ schema: { fields: olderFields } }],
      setMetadata: async (metadata: unknown) => void calls.patches.push(metadata),
    };
    const dataset = {
      createTable: async (name: string) => {
        calls.tables.push(name);
        if (name === 'predictions') throw alreadyExists;
      },
      table: () => table,
    };
    const client = {
      createDataset: async () => Promise.reject(alreadyExists),
      dataset: () => dataset,
      query: async (request: unknown) => {
        calls.queries.push(request);
        return [[{ n: 2, at: new BigQueryTimestamp('2024-05-01T00:00:00Z') }]];
      },
    };
    return { client: client as unknown as BigQuery, calls, olderFields };
  }

  it('ignores "already exists", streams deduped rows with insertIds and qualifies queries', async () => {
    const { client, calls, olderFields } = fakeClient();
    const warehouse = new BigQueryWarehouse({ projectId: 'proj', dataset: 'mlops', location: 'EU', client });
    await warehouse.ensureTables(TABLES);
    expect(calls.tables).toEqual(TABLES.map((table) => table.name));
    // The existing table gets the new nullable column appended, its other fields unchanged.
    expect(calls.patches).toEqual([{ schema: { fields: [...olderFields, expect.objectContaining({ name: 'shadow_of', type: 'STRING', mode: 'NULLABLE' })] } }]);

    const rows = [...Array.from({ length: 600 }, (_, index) => prediction(`p${index}`)), prediction('p0')];
    expect(await warehouse.insert('predictions', rows)).toEqual({ inserted: 600, duplicates: 1 });
    expect(calls.inserts.map((batch) => batch.length)).toEqual([500, 100]);

    expect(await warehouse.query('SELECT count(*) n FROM {{predictions}} WHERE model = @model', { model: 'churn' })).toEqual([
      { n: 2, at: '2024-05-01T00:00:00.000Z' },
    ]);
    expect(calls.queries[0]).toMatchObject({
      query: 'SELECT count(*) n FROM `proj.mlops.predictions` WHERE model = @model',
      params: { model: 'churn' },
      location: 'EU',
    });
  });

  it('rejects an invalid row before sending anything', async () => {
    const { client, calls } = fakeClient();
    const warehouse = new BigQueryWarehouse({ projectId: 'proj', dataset: 'mlops', location: 'EU', client });
    await expect(warehouse.insert('predictions', [prediction('p1'), { ...prediction('p2'), version: 1.5 }])).rejects.toMatchObject({
      code: 'WAREHOUSE.INVALID_ROW',
      message: expect.stringMatching(/"predictions".*row 1.*"version"/),
    });
    expect(calls.inserts).toEqual([]);
  });
});
