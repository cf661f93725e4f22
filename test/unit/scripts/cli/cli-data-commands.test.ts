import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDataApi } from '../../../../functions/data-api/app.js';
import type { EventBus } from '../../../../shared/ports/event-bus.port.js';
import type { Row, Warehouse } from '../../../../shared/ports/warehouse.port.js';
import { mlops } from '../../../support/cli.js';

/** offline_features in memory, keyed as the real table is: (dataset, entity, event time). */
function memoryWarehouse(): Warehouse & { rows: Row[] } {
  const rows: Row[] = [];
  const keys = new Set<string>();
  return {
    rows,
    dialect: 'duckdb',
    ensureTables: async () => undefined,
    insert: async (_table, batch) => {
      let inserted = 0;
      for (const row of batch) {
        const key = `${row.dataset_id}|${row.entity_id}|${row.event_time}`;
        if (keys.has(key)) continue;
        keys.add(key);
        rows.push(row);
        inserted++;
      }
      return { inserted, duplicates: batch.length - inserted };
    },
    query: async () => [],
    replace: async () => undefined,
    close: async () => undefined,
  };
}

const files = mkdtempSync(join(tmpdir(), 'cli-data-'));
const write = (name: string, text: string) => {
  const path = join(files, name);
  writeFileSync(path, text);
  return path;
};

// The real data API, in this process, behind the URL the CLI is told: the CLI's reading of its
// answers (and its exit codes) is what is under test.
describe('mlops ground-truth and features load: exit codes and refused lines', () => {
  const warehouse = memoryWarehouse();
  const published: unknown[] = [];
  const bus: EventBus = {
    publish: async (_topic, data) => String(published.push(data)),
    request: async (topic) => {
      throw new Error(`the data API never waits for a reply (asked on ${topic})`);
    },
    close: async () => undefined,
  };
  let server: ServerType;
  const saved = { url: process.env.MLOPS_DATA_API_URL, dataDir: process.env.MLOPS_DATA_DIR };

  beforeAll(async () => {
    const app = createDataApi({ bus: () => bus, warehouse: async () => warehouse, apiKeyHashes: [] });
    server = await new Promise<ServerType>((resolve) => {
      const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started));
    });
    process.env.MLOPS_DATA_API_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    process.env.MLOPS_DATA_DIR = files;
  });
  afterAll(() => {
    server?.close();
    Object.assign(process.env, { MLOPS_DATA_API_URL: saved.url, MLOPS_DATA_DIR: saved.dataDir });
  });

  it('ground truth with every line refused: exit 1, and every line printed with its reason', async () => {
    const file = write('all-bad.csv', 'id,label\n,1\n,0\n');
    const result = await mlops('ground-truth', file);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/accepted 0 ground truth records; refused 2:\n {2}line 2: predictionId: .*\n {2}line 3: predictionId: /);
    expect(result.stderr).toMatch(/no record of .*all-bad\.csv was accepted: all 2 were refused/);
    const json = await mlops('ground-truth', file, '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ accepted: 0, rejectedCount: 2, rejected: [{ line: 2 }, { line: 3 }] });
  });

  it('ground truth partly refused: exit 0, the count refused, the first 20 reasons and how many more', async () => {
    const lines = ['id,label', 'p-1,1', ...Array.from({ length: 25 }, () => ',1')];
    const result = await mlops('ground-truth', write('some-bad.csv', `${lines.join('\n')}\n`));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^accepted 1 ground truth records; refused 25:/);
    expect(result.stdout.match(/^ {2}line \d+: /gm)).toHaveLength(20);
    expect(result.stdout).toMatch(/line 22: .*\n {2}\.\.\. and 5 more refused lines\n$/);
    expect((await mlops('ground-truth', write('good.jsonl', '{"id": "p-2", "value": 1.5}\n'))).stdout).toBe('accepted 1 ground truth records; refused 0\n');
  });

  it('ground truth that is not usable: a headerless CSV or an empty file exits 1 and says why', async () => {
    const headerless = await mlops('ground-truth', write('headerless.csv', 'p-1,1\np-2,0\n'));
    expect(headerless.code).toBe(1);
    expect(headerless.stderr).toMatch(/line 1 is not a header naming id and label or value \(got "p-1,1"\)/);
    const empty = await mlops('ground-truth', write('empty.jsonl', '\n'));
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/holds no ground truth records/);
    expect((await mlops('ground-truth', join(files, 'missing.csv'))).code).toBe(2);
  });

  it('features with every row refused: exit 1, with the reasons', async () => {
    const rows = Array.from({ length: 30 }, (_, index) => `e${index},not-a-time,1`);
    const result = await mlops('features', 'load', write('bad-features.csv', `entity_id,event_time,f0\n${rows.join('\n')}\n`), '--dataset', 'bad');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^loaded 0 rows into dataset bad; refused 30:\n {2}line 2: event_time "not-a-time" is not an ISO 8601 time/);
    expect(result.stdout).toMatch(/\.\.\. and 10 more refused lines/);
    expect(result.stderr).toMatch(/no row of .*bad-features\.csv was loaded: all 30 were refused/);
  });

  it('features partly refused, or all already present: exit 0', async () => {
    const file = write('mixed.csv', 'entity_id,event_time,f0\ne1,2026-01-01T00:00:00Z,1\ne2,never,2\n');
    const first = await mlops('features', 'load', file, '--dataset', 'mixed');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^loaded 1 rows into dataset mixed; refused 1:\n {2}line 3: event_time "never"/);
    const again = await mlops('features', 'load', file, '--dataset', 'mixed');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/loaded 0 rows into dataset mixed \(1 already present\); refused 1/);
  });

  it('features that are not usable: a headerless CSV or an empty file exits 1 and says why', async () => {
    const headerless = await mlops('features', 'load', write('headerless-features.csv', 'e1,2026-01-01T00:00:00Z,1\n'), '--dataset', 'x');
    expect(headerless.code).toBe(1);
    expect(headerless.stderr).toMatch(/Line 1 is not a CSV header naming entity_id/);
    const empty = await mlops('features', 'load', write('empty.jsonl', ''), '--dataset', 'x');
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/holds no feature rows/);
    expect((await mlops('features', 'load', write('x.txt', 'a'), '--dataset', 'x')).code).toBe(2);
    expect((await mlops('features', 'load', write('y.csv', 'a'))).code).toBe(2);
  });

  it('features without event_time take the load time and say so; --event-time-column names another column', async () => {
    const training = write('training.csv', 'entity_id,sepal_length,petal_length\nf1,5.1,1.4\nf2,6.3,4.9\n');
    const before = Date.now();
    const loaded = await mlops('features', 'load', training, '--dataset', 'iris-train');
    expect(loaded.code).toBe(0);
    expect(loaded.stdout).toMatch(/^loaded 2 rows into dataset iris-train; refused 0\n/);
    expect(loaded.stdout).toMatch(/event time: 2 rows have no event_time and took the load time \S+Z/);
    const stored = warehouse.rows.filter((row) => row.dataset_id === 'iris-train');
    expect(stored.map((row) => row.features)).toEqual([
      { sepal_length: 5.1, petal_length: 1.4 },
      { sepal_length: 6.3, petal_length: 4.9 },
    ]);
    for (const row of stored) expect(Date.parse(row.event_time as string)).toBeGreaterThanOrEqual(before - 1000);

    const timed = write('timed.csv', 'entity_id,observed_at,f0\nt1,2026-03-01T10:00:00Z,1\n');
    const named = await mlops('features', 'load', timed, '--dataset', 'timed', '--event-time-column', 'observed_at', '--json');
    expect(named.code).toBe(0);
    expect(JSON.parse(named.stdout)).toMatchObject({ loaded: 1, eventTimeColumn: 'observed_at', defaultedEventTimes: 0 });
    expect(warehouse.rows.find((row) => row.dataset_id === 'timed')).toMatchObject({ event_time: '2026-03-01T10:00:00.000Z', features: { f0: 1 } });
    const wrong = await mlops('features', 'load', timed, '--dataset', 'timed', '--event-time-column', 'ts');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/The CSV header names no ts column/);
  });
});
