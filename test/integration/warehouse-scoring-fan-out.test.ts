import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../infra/stack.js';
import { type LocalPlatform, startLocalPlatform } from '../../scripts/lib/local-platform.js';
import { TABLES } from '../../shared/domain/tables.js';
import type { Warehouse } from '../../shared/ports/warehouse.port.js';
import { freePort } from '../../shared/processes/processes.js';
import { platform } from '../../shared/runtime/index.js';
import { mlops } from '../support/cli.js';
import { binaryClassifierOnnx } from '../support/models.js';

const DATASET = 'april';
const ROWS = 600;
// Two rows per entity, so a shard must take an entity's rows whole.
const GENERATE_SQL = `INSERT INTO {{offline_features}}
SELECT @dataset, 'c-' || lpad(CAST(i // 2 AS VARCHAR), 4, '0'), TIMESTAMPTZ '2026-04-01 00:00:00+00' + to_seconds(i),
  json_object('f0', (i % 7) / 7.0, 'f1', CAST(i % 3 AS DOUBLE), 'f2', 0.5, 'f3', CAST(i % 2 AS DOUBLE)), now()
FROM range(@rows) AS t(i)`;

// The score-batch function on the local platform, fed by `mlops score --fan-out`: one message per shard.
describe('mlops score --fan-out: shards scored by the score-batch function', () => {
  let local: LocalPlatform;
  let warehouse: Warehouse;
  const count = async () =>
    Number((await warehouse.query<{ n: number }>("SELECT COUNT(DISTINCT prediction_id) AS n FROM {{predictions}} WHERE source = 'batch'"))[0]?.n);

  beforeAll(async () => {
    process.env.MLOPS_LOG_LEVEL = 'silent';
    const ports = { pubsub: await freePort(), firestore: await freePort(), functions: 0 };
    const functions = FUNCTIONS.filter((spec) => ['register-model', 'registry-api', 'promote-model', 'score-batch'].includes(spec.name));
    local = await startLocalPlatform({ dataDir: mkdtempSync(join(tmpdir(), 'fan-out-data-')), ports, fresh: true, scheduler: false, functions });
    warehouse = await platform().warehouse();
    await warehouse.ensureTables(TABLES);
    await warehouse.query(GENERATE_SQL, { dataset: DATASET, rows: ROWS });
    const file = join(mkdtempSync(join(tmpdir(), 'fan-out-')), 'model.onnx');
    writeFileSync(file, binaryClassifierOnnx());
    const uploaded = await mlops('upload', file, '--name', 'churn');
    expect(uploaded.stderr).toBe('');
    const promoted = await mlops('promote', 'churn', '1', '--to', 'production');
    expect(promoted.stderr).toBe('');
  }, 120_000);
  afterAll(async () => {
    await local?.stop();
  });

  // 1 row/s for 540 s with the safety factor of 3: 180-row shards.
  const flags = ['--model', 'churn', '--rows-per-second', '1', '--json'];

  it('prints the plan without scoring', async () => {
    const planned = await mlops('score', DATASET, ...flags, '--plan');
    expect(planned.stderr).toBe('');
    const plan = JSON.parse(planned.stdout);
    expect(plan).toMatchObject({ path: 'fan-out', model: 'churn', version: 1, rows: ROWS, shardRows: 180 });
    expect(plan.shards.map((shard: { rows: number }) => shard.rows)).toEqual([180, 180, 180, 60]);
    expect(plan.reason).toContain('DuckDB has no ML.PREDICT');
    expect(await count()).toBe(0);
  });

  it('scores every row once across the shards, and running it again adds nothing', async () => {
    const first = await mlops('score', DATASET, ...flags, '--fan-out');
    expect(first.stderr).toBe('');
    expect(JSON.parse(first.stdout)).toMatchObject({ path: 'fan-out', shards: 4, rowsScored: ROWS });
    expect(await count()).toBe(ROWS);
    const again = await mlops('score', DATASET, ...flags, '--fan-out');
    expect(JSON.parse(again.stdout)).toMatchObject({ shards: 4 });
    expect(await count()).toBe(ROWS);
    const total = await warehouse.query<{ n: number }>("SELECT COUNT(*) AS n FROM {{predictions}} WHERE source = 'batch'");
    expect(Number(total[0]!.n)).toBe(ROWS);
  }, 120_000);

  it('stays one score-batch run by default on DuckDB, with the same ids as the shards made', async () => {
    const single = await mlops('score', DATASET, '--model', 'churn', '--json');
    expect(JSON.parse(single.stdout)).toMatchObject({ status: 'succeeded', rowsScored: ROWS, version: 1 });
    expect(await count()).toBe(ROWS);
  }, 60_000);
});
