import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDbWarehouse } from '../../shared/adapters/duckdb/duckdb-warehouse.js';
import { PlatformError } from '../../shared/domain/errors.js';
import { TABLES } from '../../shared/domain/tables.js';
import type { Row, Warehouse } from '../../shared/ports/warehouse.port.js';

/** A warehouse under test, a second handle on the same storage, and its cleanup. */
interface ReplaceFixture {
  open(): Warehouse;
  cleanup(): Promise<void>;
}

// DuckDB only: no BigQuery emulator exists; the MERGE BigQuery runs is covered by test/unit/shared/adapters/bigquery/bigquery-merge.test.ts.
const creators: { name: string; create(): Promise<ReplaceFixture> }[] = [
  {
    name: 'duckdb',
    async create() {
      const folder = await mkdtemp(join(tmpdir(), 'warehouse-replace-'));
      const path = join(folder, 'warehouse.duckdb');
      return { open: () => new DuckDbWarehouse({ path, dataset: 'mlops' }), cleanup: () => rm(folder, { recursive: true, force: true }) };
    },
  },
];

const WINDOW = { window_start: '2026-01-01T00:00:00.000Z', window_end: '2026-01-02T00:00:00.000Z' };
const slice = (version: number, window = WINDOW) => ({ model: 'churn', version, ...window });
const metric = (version: number, feature: string, value: number, window = WINDOW): Row => ({
  ...slice(version, window),
  feature,
  method: 'psi',
  value,
  threshold: 0.1,
  drifted: value >= 0.1,
  reference_size: 100,
  current_size: 90,
  computed_at: '2026-01-02T00:05:00.000Z',
});

describe.each(creators)('Warehouse replace contract: $name', ({ create }) => {
  let fixture: ReplaceFixture;
  let warehouse: Warehouse;
  const rowsOf = (version: number) => warehouse.query('SELECT feature, value FROM {{drift_metrics}} WHERE version = @version ORDER BY feature', { version });

  beforeEach(async () => {
    fixture = await create();
    warehouse = fixture.open();
    await warehouse.ensureTables(TABLES);
  });

  afterEach(async () => {
    await warehouse.close();
    await fixture.cleanup();
  });

  it('rewrites a slice on every run instead of adding to it', async () => {
    await warehouse.replace('drift_metrics', slice(3), [metric(3, 'tenure', 0.2), metric(3, 'plan', 0.05)]);
    await warehouse.replace('drift_metrics', slice(3), [metric(3, 'tenure', 0.3), metric(3, 'age', 0.01)]);
    expect(await rowsOf(3)).toEqual([
      { feature: 'age', value: 0.01 },
      { feature: 'tenure', value: 0.3 },
    ]);
  });

  it('leaves rows outside the slice alone: other versions and other windows', async () => {
    const later = { window_start: '2026-01-02T00:00:00.000Z', window_end: '2026-01-03T00:00:00.000Z' };
    await warehouse.replace('drift_metrics', slice(3), [metric(3, 'tenure', 0.2)]);
    await warehouse.replace('drift_metrics', slice(4), [metric(4, 'tenure', 0.4)]);
    await warehouse.replace('drift_metrics', slice(3, later), [metric(3, 'tenure', 0.6, later)]);
    await warehouse.replace('drift_metrics', slice(3), [metric(3, 'tenure', 0.7)]);
    const all = await warehouse.query('SELECT version, window_end, value FROM {{drift_metrics}} ORDER BY version, window_end');
    expect(all).toEqual([
      { version: 3, window_end: WINDOW.window_end, value: 0.7 },
      { version: 3, window_end: later.window_end, value: 0.6 },
      { version: 4, window_end: WINDOW.window_end, value: 0.4 },
    ]);
  });

  it('empties a slice when given no rows, matching a Date in where with stored timestamps', async () => {
    await warehouse.replace('drift_metrics', slice(3), [metric(3, 'tenure', 0.2)]);
    await warehouse.replace('drift_metrics', { ...slice(3), window_end: new Date(WINDOW.window_end) }, []);
    expect(await rowsOf(3)).toEqual([]);
  });

  it('writes nothing when a row is invalid or outside the slice, and keeps the old rows', async () => {
    await warehouse.replace('drift_metrics', slice(3), [metric(3, 'tenure', 0.2)]);
    const attempts = [
      warehouse.replace('drift_metrics', slice(3), [metric(3, 'plan', 0.1), { ...metric(3, 'age', 0.1), value: 'high' }]),
      warehouse.replace('drift_metrics', slice(3), [metric(3, 'plan', 0.1), metric(4, 'age', 0.1)]),
      warehouse.replace('drift_metrics', {}, []),
    ];
    for (const attempt of attempts) {
      const error = await attempt.then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(PlatformError);
      expect((error as PlatformError).code).toBe('WAREHOUSE.INVALID_ROW');
    }
    expect(await rowsOf(3)).toEqual([{ feature: 'tenure', value: 0.2 }]);
  });

  it('keeps every slice whole when writers replace slices concurrently', async () => {
    const second = fixture.open();
    try {
      await Promise.all(
        Array.from({ length: 8 }, (_, run) =>
          (run % 2 ? second : warehouse).replace(
            'drift_metrics',
            slice(3 + (run % 2)),
            ['a', 'b', 'c'].map((feature) => metric(3 + (run % 2), feature, run)),
          ),
        ),
      );
    } finally {
      await second.close();
    }
    const counts = await warehouse.query(
      'SELECT version, COUNT(*) AS n, COUNT(DISTINCT value) AS runs FROM {{drift_metrics}} GROUP BY version ORDER BY version',
    );
    expect(counts).toEqual([
      { version: 3, n: 3, runs: 1 },
      { version: 4, n: 3, runs: 1 },
    ]);
  });
});
