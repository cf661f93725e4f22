import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BigQueryWarehouse } from '../../shared/adapters/bigquery/index.js';
import { DuckDbWarehouse } from '../../shared/adapters/duckdb/index.js';
import { OnnxModelRunner } from '../../shared/adapters/onnx/index.js';
import { BatchScoringRequested } from '../../shared/domain/events.js';
import { TABLES } from '../../shared/domain/tables.js';
import { batchPredictionIdSql } from '../../shared/domain/warehouse-scoring.js';
import { batchPredictionId, scoreBatch } from '../../shared/services/score-batch.js';
import type { ServingModel } from '../../shared/services/serving-model.js';
import { planWarehouseScoring, runsStatements, scoreWithBigQueryMl, shardRequests } from '../../shared/services/warehouse-scoring.js';
import { benchVersion } from '../../scripts/bench/models.js';
import { binaryClassifierOnnx } from '../support/models.js';

const DATASET = 'march';
const ROWS = 1500;
// Three rows per entity (so a shard boundary must not split an entity), event times with microseconds (ids use
// milliseconds, as toISOString prints them), and one row the model cannot take (a string feature), skipped.
const GENERATE_SQL = `INSERT INTO {{offline_features}}
SELECT @dataset, 'c-' || lpad(CAST(i // 3 AS VARCHAR), 5, '0'), TIMESTAMPTZ '2026-03-01 00:00:00+00' + to_microseconds(i * 1000123),
  CASE WHEN i = 700 THEN json_object('f0', 'high', 'f1', 1.0, 'f2', 0.5, 'f3', 0.0)
  ELSE json_object('f0', (i % 7) / 7.0, 'f1', CAST(i % 3 AS DOUBLE), 'f2', 0.5, 'f3', CAST(i % 2 AS DOUBLE)) END, now()
FROM range(@rows) AS t(i)`;

const directory = mkdtempSync(join(tmpdir(), 'warehouse-scoring-'));
const single = new DuckDbWarehouse({ path: join(directory, 'single.duckdb'), dataset: 'mlops' });
const sharded = new DuckDbWarehouse({ path: join(directory, 'sharded.duckdb'), dataset: 'mlops' });
let model: ServingModel;

async function predictionIds(warehouse: DuckDbWarehouse): Promise<string[]> {
  const rows = await warehouse.query<{ prediction_id: string }>("SELECT prediction_id FROM {{predictions}} WHERE source = 'batch' ORDER BY prediction_id");
  return rows.map((row) => row.prediction_id);
}

beforeAll(async () => {
  const bytes = binaryClassifierOnnx();
  const loaded = await new OnnxModelRunner().load(bytes);
  model = { version: { ...benchVersion(bytes, loaded.signature, 'churn'), version: 3 }, loaded, bytes };
  for (const warehouse of [single, sharded]) {
    await warehouse.ensureTables(TABLES);
    await warehouse.query(GENERATE_SQL, { dataset: DATASET, rows: ROWS });
  }
});
afterAll(async () => {
  await model.loaded.close();
  await single.close();
  await sharded.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('fan-out on DuckDB', () => {
  it('scores every row exactly once across the shards, with the ids of a single run, and a re-run adds nothing', async () => {
    const report = await scoreBatch({ dataset: DATASET, warehouse: single, model, pageSize: 400 });
    expect(report).toMatchObject({ rowsScored: ROWS - 1, rowsSkipped: 1 });

    // 400-row shards: 540 s at 400/540 rows/s with no safety margin.
    const plan = await planWarehouseScoring({ dataset: DATASET, model, warehouse: sharded, sizing: { rowsPerSecond: 400 / 540, safetyFactor: 1 } });
    if (plan.path !== 'fan-out') throw new Error(`expected a fan-out, got ${plan.path}`);
    expect(plan.reason).toContain('DuckDB has no ML.PREDICT');
    expect(plan.rows).toBe(ROWS);
    // A shard takes whole entities: the one whose first row is below the boundary comes in whole.
    expect(plan.shards.map((shard) => shard.rows)).toEqual([402, 399, 399, 300]);
    expect(plan.shards[0]!.from).toBeNull();
    expect(plan.shards.at(-1)!.to).toBeNull();

    const requests = shardRequests(plan, 'run-1');
    expect(requests.map(({ request }) => request.requestId)).toEqual(['run-1/shard-1-of-4', 'run-1/shard-2-of-4', 'run-1/shard-3-of-4', 'run-1/shard-4-of-4']);
    expect(shardRequests(plan, 'run-1')).toEqual(requests);
    const scoreShards = async () => {
      const scored: number[] = [];
      for (const { request } of requests) {
        const event = BatchScoringRequested.parse(JSON.parse(JSON.stringify(request)));
        scored.push((await scoreBatch({ dataset: event.dataset, warehouse: sharded, model, pageSize: 150, range: event.shard })).rowsScored);
      }
      return scored;
    };
    const scored = await scoreShards();
    expect(scored.reduce((sum, rows) => sum + rows, 0)).toBe(ROWS - 1);
    const ids = await predictionIds(sharded);
    expect(ids).toHaveLength(ROWS - 1);
    expect(ids).toEqual(await predictionIds(single));

    await scoreShards();
    expect(await predictionIds(sharded)).toHaveLength(ROWS - 1);
  });

  it('computes in DuckDB SQL the same prediction ids as TypeScript', async () => {
    const params = { model: 'churn', version: 3, dataset: DATASET };
    const rows = await single.query<{ entity_id: string; event_time: string; id: string }>(
      `SELECT entity_id, event_time, ${batchPredictionIdSql('duckdb')} AS id FROM {{offline_features}} WHERE dataset_id = @dataset ORDER BY entity_id, event_time LIMIT 50`,
      params,
    );
    expect(rows).toHaveLength(50);
    for (const row of rows) expect(row.id).toBe(batchPredictionId('churn', 3, DATASET, row));
    const stored = new Set(await predictionIds(single));
    expect(rows.every((row) => stored.has(row.id))).toBe(true);
  });
});

describe('prediction ids against an independent reference (test/fixtures/batch-prediction-ids-reference.py)', () => {
  const reference = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/batch-prediction-ids-reference.json'), 'utf8')) as {
    model: string;
    version: number;
    dataset: string;
    rows: { entity_id: string; event_time_us: string; id: string }[];
  };
  const warehouse = new DuckDbWarehouse({ path: ':memory:', dataset: 'mlops' });
  afterAll(() => warehouse.close());

  it('makes the reference ids in DuckDB SQL from microsecond times, and in TypeScript from the times read back', async () => {
    const { model, version, dataset } = reference;
    await warehouse.ensureTables(TABLES);
    for (const row of reference.rows) {
      const insert = "INSERT INTO {{offline_features}} VALUES (@dataset, @entity, CAST(@time AS TIMESTAMPTZ), json_object('f0', 1), now())";
      await warehouse.query(insert, { dataset, entity: row.entity_id, time: row.event_time_us });
    }
    const computed = await warehouse.query<{ entity_id: string; event_time: string; id: string }>(
      `SELECT entity_id, event_time, ${batchPredictionIdSql('duckdb')} AS id FROM {{offline_features}} WHERE dataset_id = @dataset`,
      { model, version, dataset },
    );
    const byEntity = new Map(computed.map((row) => [row.entity_id, row]));
    expect(byEntity.size).toBe(reference.rows.length);
    for (const expected of reference.rows) {
      const row = byEntity.get(expected.entity_id)!;
      expect({ entity: expected.entity_id, sql: row.id, typescript: batchPredictionId(model, version, dataset, row) }).toEqual({
        entity: expected.entity_id,
        sql: expected.id,
        typescript: expected.id,
      });
    }
  });
});

/** Answers the BigQuery v2 job and query requests the client library sends, recording each job's SQL and parameters. */
class RecordingBigQuery {
  readonly jobs: { query: string; parameters: { name: string; parameterType: { type: string }; parameterValue: { value?: unknown } }[] }[] = [];
  private readonly statementTypes = new Map<string, string>();
  private server: Server | undefined;
  endpoint = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of req) text += chunk;
    const url = new URL(req.url!, this.endpoint);
    // What BigQuery reports for each statement: an INSERT writes 1,499 rows, CREATE MODEL none.
    const job = (id: string) => {
      const statementType = this.statementTypes.get(id) ?? 'SELECT';
      const affected = statementType === 'INSERT' ? { numDmlAffectedRows: '1499' } : {};
      return {
        kind: 'bigquery#job',
        id: `mlops-test:US.${id}`,
        jobReference: { projectId: 'mlops-test', jobId: id, location: 'US' },
        status: { state: 'DONE' },
        statistics: { query: { statementType, totalBytesProcessed: '48000', ...affected } },
      };
    };
    if (req.method === 'POST' && url.pathname.endsWith('/jobs')) {
      const body = JSON.parse(text);
      const { query, queryParameters = [] } = body.configuration.query;
      this.jobs.push({ query, parameters: queryParameters });
      this.statementTypes.set(body.jobReference.jobId, /^\s*(\w+)/.exec(query)![1] === 'INSERT' ? 'INSERT' : 'CREATE_MODEL');
      return send(res, { ...job(body.jobReference.jobId), configuration: body.configuration });
    }
    if (req.method === 'POST' && url.pathname.endsWith('/queries')) {
      const body = JSON.parse(text);
      this.jobs.push({ query: body.query, parameters: body.queryParameters ?? [] });
      // The split points of a 1,500-row dataset: two shards.
      const rows = [{ f: [{ v: 'c-00000' }, { v: '900' }] }, { f: [{ v: 'c-00300' }, { v: '600' }] }];
      const fields = [
        { name: 'start_entity', type: 'STRING' },
        { name: 'row_count', type: 'INTEGER' },
      ];
      return send(res, {
        kind: 'bigquery#queryResponse',
        jobComplete: true,
        totalRows: '2',
        schema: { fields },
        rows,
        jobReference: { projectId: 'mlops-test', jobId: 'q-1' },
      });
    }
    const jobId = url.pathname.split('/').at(-1)!;
    if (url.pathname.includes('/queries/'))
      return send(res, {
        kind: 'bigquery#getQueryResultsResponse',
        jobReference: job(jobId).jobReference,
        jobComplete: true,
        totalRows: '0',
        schema: { fields: [] },
      });
    if (url.pathname.includes('/jobs/')) return send(res, job(jobId));
    send(res, { error: { code: 404, message: `no route for ${req.method} ${url.pathname}` } }, 404);
  }
}

function send(res: ServerResponse, body: unknown, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

describe('the BigQuery ML path through the real BigQuery client', () => {
  const bigquery = new RecordingBigQuery();
  let warehouse: BigQueryWarehouse;
  beforeAll(async () => {
    await bigquery.start();
    const client = new BigQuery({ projectId: 'mlops-test', apiEndpoint: bigquery.endpoint, autoRetry: false });
    warehouse = new BigQueryWarehouse({ projectId: 'mlops-test', dataset: 'mlops', location: 'US', client });
  });
  afterAll(() => bigquery.stop());
  beforeEach(() => {
    bigquery.jobs.length = 0;
  });

  it('imports the version, then inserts from ML.PREDICT, qualified and bound, reporting the rows BigQuery wrote', async () => {
    expect(runsStatements(warehouse)).toBe(true);
    const plan = await planWarehouseScoring({ dataset: DATASET, model, warehouse, sizing: { rowsPerSecond: 30_000 } });
    if (plan.path !== 'bigquery-ml') throw new Error(`expected the BigQuery ML path, got ${plan.path}: ${plan.reason}`);

    const report = await scoreWithBigQueryMl(plan, warehouse);
    expect(report).toMatchObject({ path: 'bigquery-ml', rowsScored: 1499, shards: 1, bytesProcessed: 96000 });
    const [create, insert] = bigquery.jobs;
    expect(bigquery.jobs).toHaveLength(2);
    expect(create!.query).toBe("CREATE OR REPLACE MODEL `mlops-test.mlops.mlops_churn_v3` OPTIONS(MODEL_TYPE = 'ONNX', MODEL_PATH = 'gs://bench/churn.onnx')");
    expect(insert!.query).toMatch(/^INSERT INTO `mlops-test\.mlops\.predictions` \(prediction_id, model, version/);
    expect(insert!.query).toContain('FROM ML.PREDICT(MODEL `mlops-test.mlops.mlops_churn_v3`');
    expect(insert!.query).toContain('FROM `mlops-test.mlops.offline_features` WHERE dataset_id = @dataset');
    const bound = Object.fromEntries(
      insert!.parameters.map(({ name, parameterType, parameterValue }) => [name, `${parameterType.type} ${parameterValue.value}`]),
    );
    expect(bound).toEqual({ dataset: `STRING ${DATASET}`, model: 'STRING churn', version: 'INT64 3' });
  });

  it('fans out a version it cannot import (a ZipMap upload), planning shards with one split-point query', async () => {
    const bytes = readFileSync(join(import.meta.dirname, '../fixtures/models/skl2onnx-logreg-binary.onnx'));
    const loaded = await new OnnxModelRunner().load(bytes);
    const zipMapped = { version: benchVersion(bytes, loaded.signature, 'iris'), loaded, bytes };
    const plan = await planWarehouseScoring({ dataset: DATASET, model: zipMapped, warehouse, sizing: { rowsPerSecond: 30_000 } });
    await loaded.close();
    expect(plan).toMatchObject({
      path: 'fan-out',
      rows: 1500,
      shardRows: 5_400_000,
      reason: expect.stringContaining('BigQuery ML cannot import this version'),
    });
    expect(plan.path === 'fan-out' && plan.shards).toEqual([
      { index: 0, from: null, to: 'c-00300', rows: 900 },
      { index: 1, from: 'c-00300', to: null, rows: 600 },
    ]);
    expect(bigquery.jobs).toHaveLength(1);
    expect(bigquery.jobs[0]!.query).toContain('FROM `mlops-test.mlops.offline_features` WHERE dataset_id = @dataset GROUP BY entity_id');
  });
});
