import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PlatformError } from '../../shared/domain/errors.js';
import { DuckDbWarehouse } from '../../shared/adapters/duckdb/duckdb-warehouse.js';
import { TABLES } from '../../shared/domain/tables.js';
import type { Row, Warehouse } from '../../shared/ports/warehouse.port.js';

/** A warehouse under test, a way to open it again on the same storage, and its cleanup. */
interface WarehouseFixture {
  open(): Warehouse;
  cleanup(): Promise<void>;
}

interface WarehouseCreator {
  name: string;
  /** False for BigQuery: its cross-batch dedupe (insertId) is best effort and does not report duplicates. */
  reportsCrossBatchDuplicates: boolean;
  create(): Promise<WarehouseFixture>;
}

// Only DuckDB runs here: no BigQuery emulator exists. A BigQuery creator (a throwaway dataset per test,
// gated on credentials with `describe.skipIf`) would join this list with reportsCrossBatchDuplicates: false.
const creators: WarehouseCreator[] = [
  {
    name: 'duckdb',
    reportsCrossBatchDuplicates: true,
    async create() {
      const folder = await mkdtemp(join(tmpdir(), 'warehouse-contract-'));
      const path = join(folder, 'warehouse.duckdb');
      return { open: () => new DuckDbWarehouse({ path, dataset: 'mlops' }), cleanup: () => rm(folder, { recursive: true, force: true }) };
    },
  },
];

const prediction = (id: string, overrides: Row = {}): Row => ({
  prediction_id: id,
  model: 'churn',
  version: 3,
  request_time: new Date('2024-05-01T12:00:00.250Z'),
  features: { tenure: 12.5, plan: 'pro', tags: ['a', 'b'], nested: { ok: true } },
  outputs: { probability: 0.75 },
  latency_ms: 1.25,
  source: 'online',
  ...overrides,
});

const driftMetric = (feature: string, overrides: Row = {}): Row => ({
  model: 'churn',
  version: 3,
  feature,
  method: 'ks',
  value: 0.42,
  threshold: 0.1,
  drifted: true,
  window_start: '2024-05-01T00:00:00.000Z',
  window_end: new Date('2024-05-02T00:00:00Z'),
  reference_size: 5_000_000_000,
  current_size: 1200,
  computed_at: new Date('2024-05-02T00:05:00Z'),
  ...overrides,
});

async function countRows(warehouse: Warehouse, table: string): Promise<number> {
  const [row] = await warehouse.query<{ n: number }>(`SELECT count(*) AS n FROM {{${table}}}`);
  return row?.n ?? -1;
}

async function insertError(warehouse: Warehouse, table: string, rows: Row[]): Promise<PlatformError> {
  const error = await warehouse.insert(table, rows).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PlatformError);
  return error as PlatformError;
}

describe.each(creators)('Warehouse contract: $name', ({ create, reportsCrossBatchDuplicates }) => {
  let fixture: WarehouseFixture;
  let warehouse: Warehouse;

  beforeEach(async () => {
    fixture = await create();
    warehouse = fixture.open();
    await warehouse.ensureTables(TABLES);
  });

  afterEach(async () => {
    await warehouse.close();
    await fixture.cleanup();
  });

  it('leaves tables and their rows alone when ensureTables runs again', async () => {
    await warehouse.insert('predictions', [prediction('p1')]);
    await warehouse.ensureTables(TABLES);
    await warehouse.ensureTables(TABLES);
    expect(await countRows(warehouse, 'predictions')).toBe(1);
  });

  it('round-trips every column type as plain JS values', async () => {
    await warehouse.insert('predictions', [prediction('p1', { latency_ms: undefined })]);
    await warehouse.insert('drift_metrics', [driftMetric('tenure')]);
    await warehouse.insert('ground_truth', [
      { prediction_id: 'p1', label: null, value: 3.5, observed_time: '2024-05-03T08:00:00Z', attributes: { group: 'b' } },
    ]);

    const [stored] = await warehouse.query('SELECT * FROM {{predictions}}');
    expect(stored).toEqual({ ...prediction('p1'), request_time: '2024-05-01T12:00:00.250Z', latency_ms: null, shadow_of: null, entity_id: null });
    const [metric] = await warehouse.query('SELECT * FROM {{drift_metrics}}');
    expect(metric).toEqual({
      ...driftMetric('tenure'),
      window_end: '2024-05-02T00:00:00.000Z',
      computed_at: '2024-05-02T00:05:00.000Z',
    });
    expect(typeof metric?.reference_size).toBe('number');
    const [truth] = await warehouse.query('SELECT * FROM {{ground_truth}}');
    expect(truth).toEqual({ prediction_id: 'p1', label: null, value: 3.5, observed_time: '2024-05-03T08:00:00.000Z', attributes: { group: 'b' } });
  });

  it.skipIf(!reportsCrossBatchDuplicates)('counts a redelivered batch as duplicates and stores nothing new', async () => {
    const batch = [prediction('p1'), prediction('p2')];
    expect(await warehouse.insert('predictions', batch)).toEqual({ inserted: 2, duplicates: 0 });
    expect(await warehouse.insert('predictions', batch)).toEqual({ inserted: 0, duplicates: 2 });
    expect(await warehouse.insert('predictions', [prediction('p2'), prediction('p3')])).toEqual({ inserted: 1, duplicates: 1 });
    expect(await countRows(warehouse, 'predictions')).toBe(3);
  });

  it('drops repeated keys within one batch, matching a Date key with its ISO string', async () => {
    const result = await warehouse.insert('drift_metrics', [
      driftMetric('tenure'),
      driftMetric('tenure', { window_start: new Date('2024-05-01T00:00:00Z'), value: 0.9 }),
      driftMetric('plan'),
    ]);
    expect(result).toEqual({ inserted: 2, duplicates: 1 });
    const rows = await warehouse.query('SELECT feature, value FROM {{drift_metrics}} ORDER BY feature');
    expect(rows).toEqual([
      { feature: 'plan', value: 0.42 },
      { feature: 'tenure', value: 0.42 },
    ]);
  });

  it.skipIf(!reportsCrossBatchDuplicates)('stores each key once when two writers race on overlapping batches', async () => {
    const second = fixture.open();
    const batch = (from: number) => Array.from({ length: 300 }, (_, index) => prediction(`p${from + index}`));
    try {
      const results = await Promise.all([warehouse.insert('predictions', batch(0)), second.insert('predictions', batch(200))]);
      expect(results.reduce((sum, result) => sum + result.inserted, 0)).toBe(500);
      expect(results.reduce((sum, result) => sum + result.duplicates, 0)).toBe(100);
    } finally {
      await second.close();
    }
    expect(await countRows(warehouse, 'predictions')).toBe(500);
  });

  it('inserts a batch of 10,000 rows', async () => {
    const rows = Array.from({ length: 10_000 }, (_, index) => prediction(`p${index}`, { version: index % 7 }));
    expect(await warehouse.insert('predictions', rows)).toEqual({ inserted: 10_000, duplicates: 0 });
    expect(await countRows(warehouse, 'predictions')).toBe(10_000);
  });

  it('rejects a missing required column, naming table, row and column, and writes nothing of that batch', async () => {
    await warehouse.insert('predictions', [prediction('p1')]);
    const { model: _, ...withoutModel } = prediction('p3');
    const error = await insertError(warehouse, 'predictions', [prediction('p2'), withoutModel]);
    expect(error.code).toBe('WAREHOUSE.INVALID_ROW');
    expect(error.permanent).toBe(true);
    expect(error.message).toMatch(/"predictions".*row 1.*"model"/);
    const ids = await warehouse.query('SELECT prediction_id FROM {{predictions}}');
    expect(ids).toEqual([{ prediction_id: 'p1' }]);
  });

  it('rejects a value of the wrong type, naming the column', async () => {
    const wrongVersion = await insertError(warehouse, 'predictions', [prediction('p1', { version: '3' })]);
    expect(wrongVersion.message).toMatch(/row 0.*"version".*INT64/);
    const wrongTime = await insertError(warehouse, 'drift_metrics', [driftMetric('x'), driftMetric('y', { window_end: 'yesterday' })]);
    expect(wrongTime.message).toMatch(/"drift_metrics".*row 1.*"window_end"/);
    expect(await countRows(warehouse, 'predictions')).toBe(0);
  });

  it('binds @name parameters, including timestamps', async () => {
    await warehouse.insert('predictions', [
      prediction('old', { version: 1, request_time: '2024-04-01T00:00:00Z' }),
      prediction('new', { version: 2 }),
      prediction('other', { model: 'fraud', version: 2 }),
    ]);
    const rows = await warehouse.query('SELECT prediction_id FROM {{predictions}} WHERE model = @model AND version >= @version AND request_time > @since', {
      model: 'churn',
      version: 1,
      since: new Date('2024-04-15T00:00:00Z'),
    });
    expect(rows).toEqual([{ prediction_id: 'new' }]);
  });

  it('keeps the data after close and reopen', async () => {
    await warehouse.insert('predictions', [prediction('p1'), prediction('p2')]);
    await warehouse.close();
    warehouse = fixture.open();
    await warehouse.ensureTables(TABLES);
    expect(await countRows(warehouse, 'predictions')).toBe(2);
    expect(await warehouse.insert('predictions', [prediction('p1')])).toEqual({ inserted: 0, duplicates: 1 });
  });
});

describe('DuckDB memory limit', () => {
  it('applies MLOPS_DUCKDB_MEMORY_LIMIT to the database, so scans cannot grow the cache past it', async () => {
    const { DuckDbWarehouse } = await import('../../shared/adapters/duckdb/duckdb-warehouse.js');
    const limited = new DuckDbWarehouse({ path: ':memory:', dataset: 'mlops', memoryLimit: '128MB' });
    try {
      const [row] = await limited.query<{ limit: string }>("SELECT current_setting('memory_limit') AS limit");
      expect(row!.limit).toMatch(/^1(22|28)\.\d* MiB$|^128\.0 MB$|^122\.0 MiB$/);
    } finally {
      await limited.close();
    }
  });
});
