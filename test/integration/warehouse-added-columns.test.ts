import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuckDbWarehouse } from '../../shared/adapters/duckdb/duckdb-warehouse.js';
import { predictionRow } from '../../shared/domain/prediction-rows.js';
import { TABLES } from '../../shared/domain/tables.js';

const base = { model: 'churn', version: 3, requestTime: '2026-12-01T12:00:00.000Z', features: { f0: 1 }, outputs: { p: 0.5 }, latencyMs: 1 };

describe('a DuckDB warehouse made by an older release', () => {
  let folder: string;
  let path: string;

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'warehouse-columns-'));
    path = join(folder, 'warehouse.duckdb');
    // The predictions table as releases before shadows made it, with one row in it.
    const instance = await DuckDBInstance.create(path);
    const connection = await instance.connect();
    await connection.run('CREATE SCHEMA mlops');
    await connection.run(
      'CREATE TABLE mlops.predictions (prediction_id VARCHAR NOT NULL, model VARCHAR NOT NULL, version BIGINT NOT NULL, request_time TIMESTAMPTZ NOT NULL, ' +
        'features JSON NOT NULL, outputs JSON NOT NULL, latency_ms DOUBLE, source VARCHAR NOT NULL, PRIMARY KEY (prediction_id))',
    );
    await connection.run(`INSERT INTO mlops.predictions VALUES ('old', 'churn', 3, '2026-11-30T00:00:00Z', '{}', '{}', 1, 'online')`);
    connection.closeSync();
    instance.closeSync();
  });

  afterEach(() => rm(folder, { recursive: true, force: true }));

  it('gets the shadow_of column on ensureTables, keeping its rows, and takes shadow predictions after', async () => {
    const warehouse = new DuckDbWarehouse({ path, dataset: 'mlops' });
    try {
      await warehouse.ensureTables(TABLES);
      await warehouse.ensureTables(TABLES); // a second start finds the column and changes nothing
      const rows = [
        predictionRow({ ...base, predictionId: 's-1', source: 'shadow', shadowOf: 'p-1' }),
        predictionRow({ ...base, predictionId: 'p-1', source: 'online' }),
      ];
      expect(await warehouse.insert('predictions', rows)).toEqual({ inserted: 2, duplicates: 0 });
      expect(await warehouse.query('SELECT prediction_id, source, shadow_of FROM {{predictions}} ORDER BY prediction_id')).toEqual([
        { prediction_id: 'old', source: 'online', shadow_of: null },
        { prediction_id: 'p-1', source: 'online', shadow_of: null },
        { prediction_id: 's-1', source: 'shadow', shadow_of: 'p-1' },
      ]);
    } finally {
      await warehouse.close();
    }
  });
});
