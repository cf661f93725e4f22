import { describe, expect, it } from 'vitest';
import type { Row, Warehouse } from '../../../../shared/ports/warehouse.port.js';
import { loadFeatures } from '../../../../shared/services/load-features.js';

function recordingWarehouse(): Warehouse & { rows: Row[] } {
  const rows: Row[] = [];
  return {
    rows,
    dialect: 'duckdb',
    ensureTables: async () => undefined,
    insert: async (_table, batch) => {
      rows.push(...batch);
      return { inserted: batch.length, duplicates: 0 };
    },
    query: async () => [],
    replace: async () => undefined,
    close: async () => undefined,
  };
}

async function* linesFrom(text: string): AsyncGenerator<string> {
  yield* text.split('\n');
}

describe('loadFeatures: where each row’s event time comes from', () => {
  it('gives a CSV without event_time the load time, and counts those rows', async () => {
    const warehouse = recordingWarehouse();
    const report = await loadFeatures(linesFrom('entity_id,f0\na,1\nb,2\n'), { dataset: 'd', format: 'csv' }, warehouse);
    expect(report).toMatchObject({ loaded: 2, rejectedCount: 0, eventTimeColumn: 'event_time', defaultedEventTimes: 2 });
    expect(warehouse.rows.map((row) => [row.event_time, row.loaded_at])).toEqual([
      [report.loadedAt, report.loadedAt],
      [report.loadedAt, report.loadedAt],
    ]);
  });

  it('refuses an empty event_time cell in a file that has the column, instead of inventing one', async () => {
    const report = await loadFeatures(linesFrom('entity_id,event_time,f0\na,,1\n'), { dataset: 'd', format: 'csv' }, recordingWarehouse());
    expect(report).toMatchObject({ loaded: 0, defaultedEventTimes: 0, rejected: [{ line: 2, reason: 'event_time null is not an ISO 8601 time' }] });
  });

  it('defaults JSON Lines rows that lack the field, and refuses a null one', async () => {
    const text =
      '{"entity_id": "a", "f0": 1}\n{"entity_id": "b", "event_time": null, "f0": 2}\n{"entity_id": "c", "event_time": "2026-02-01T00:00:00Z", "f0": 3}';
    const warehouse = recordingWarehouse();
    const report = await loadFeatures(linesFrom(text), { dataset: 'd', format: 'jsonl' }, warehouse);
    expect(report).toMatchObject({ loaded: 2, defaultedEventTimes: 1, rejected: [{ line: 2 }] });
    expect(warehouse.rows.map((row) => row.entity_id)).toEqual(['a', 'c']);
  });

  it('reads a named event time column, keeps it out of the features, and refuses rows without it', async () => {
    const warehouse = recordingWarehouse();
    const text = '{"entity_id": "a", "ts": "2026-03-01T10:00:00+01:00", "f0": 1}\n{"entity_id": "b", "f0": 2}';
    const report = await loadFeatures(linesFrom(text), { dataset: 'd', format: 'jsonl', eventTimeColumn: 'ts' }, warehouse);
    expect(report).toMatchObject({ loaded: 1, defaultedEventTimes: 0, eventTimeColumn: 'ts', rejected: [{ line: 2, reason: 'ts is missing' }] });
    expect(warehouse.rows[0]).toMatchObject({ event_time: '2026-03-01T09:00:00.000Z', features: { f0: 1 } });
  });

  it('refuses a whole CSV whose first line names no entity_id, or lacks the named time column', async () => {
    await expect(loadFeatures(linesFrom('a,2026-01-01,1\nb,2026-01-01,2'), { dataset: 'd', format: 'csv' }, recordingWarehouse())).rejects.toMatchObject({
      code: 'FEATURES.INVALID_FILE',
      message: expect.stringMatching(/^Line 1 is not a CSV header naming entity_id/),
    });
    await expect(
      loadFeatures(linesFrom('entity_id,f0\na,1'), { dataset: 'd', format: 'csv', eventTimeColumn: 'ts' }, recordingWarehouse()),
    ).rejects.toMatchObject({
      code: 'FEATURES.INVALID_FILE',
      message: expect.stringMatching(/names no ts column/),
    });
  });
});
