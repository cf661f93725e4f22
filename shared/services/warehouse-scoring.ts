import { PlatformError } from '../domain/errors.js';
import { BatchScored, type BatchScoringRequested } from '../domain/events.js';
import { planInputs } from '../domain/serving/input-plan.js';
import { TOPICS } from '../domain/topics.js';
import { parseWith } from '../domain/validation.js';
import {
  type ScoringShard,
  type ShardSizing,
  type SplitPoint,
  bigQueryMlModelName,
  bigQueryMlSupport,
  createModelSql,
  mlPredictInsertSql,
  shardKey,
  shardRows,
  shardsFrom,
  splitPointsSql,
} from '../domain/warehouse-scoring.js';
import type { EventBus } from '../ports/event-bus.port.js';
import type { Warehouse } from '../ports/warehouse.port.js';
import type { ServingModel } from './serving-model.js';

/** A warehouse that runs DDL and DML statements and reports their job statistics (the BigQuery adapter's `runStatement`). */
export interface StatementWarehouse extends Warehouse {
  runStatement(sql: string, params?: Record<string, unknown>): Promise<{ affectedRows: number; bytesProcessed: number }>;
}

/** One SQL statement of the BigQuery ML path with its parameters. */
export interface PlannedStatement {
  sql: string;
  params: Record<string, unknown>;
}

/** What a warehouse-scale run will do: score inside BigQuery ML, or fan out into shards scored by score-batch. */
export type WarehouseScoringPlan = {
  model: string;
  version: number;
  dataset: string;
  /** Why this path: for a fan-out, why BigQuery ML cannot take the version (or that the warehouse has no ML.PREDICT). */
  reason: string;
} & ({ path: 'bigquery-ml'; modelName: string; statements: PlannedStatement[] } | { path: 'fan-out'; shardRows: number; rows: number; shards: ScoringShard[] });

/** Options of planWarehouseScoring. */
export interface PlanWarehouseScoringOptions {
  dataset: string;
  model: ServingModel;
  warehouse: Warehouse;
  /** How fast one score-batch instance scores, to size the shards. */
  sizing: ShardSizing;
  /** Fan out even where BigQuery ML could score (on DuckDB there is no other way). */
  fanOut?: boolean;
}

/** Outcome of a warehouse-scale run. */
export interface WarehouseScoringReport {
  model: string;
  version: number;
  dataset: string;
  path: WarehouseScoringPlan['path'];
  /** Rows newly written to predictions: a re-run writes none. */
  rowsScored: number;
  /** Shards scored (1 for the BigQuery ML path). */
  shards: number;
  /** Bytes BigQuery processed, on the BigQuery ML path. */
  bytesProcessed: number;
}

/** A true `runStatement` means the warehouse can run the BigQuery ML path's statements. */
export function runsStatements(warehouse: Warehouse): warehouse is StatementWarehouse {
  return warehouse.dialect === 'bigquery' && typeof (warehouse as Partial<StatementWarehouse>).runStatement === 'function';
}

/**
 * Decides how to score a dataset at warehouse scale: inside BigQuery ML when the warehouse is BigQuery and the version
 * qualifies, else by entity-range shards sized to finish within the function limit (one split-point query).
 */
export async function planWarehouseScoring({ dataset, model, warehouse, sizing, fanOut = false }: PlanWarehouseScoringOptions): Promise<WarehouseScoringPlan> {
  const { version, loaded } = model;
  const plan = planInputs(loaded.signature, loaded.metadata, version.tags);
  const base = { model: version.model, version: version.version, dataset };
  const support = bigQueryMlSupport({ ...version, signature: loaded.signature, served: loaded.served }, plan);
  if (warehouse.dialect === 'bigquery' && support.importable && !fanOut) {
    const modelName = bigQueryMlModelName(version.model, version.version);
    const params = { dataset, model: version.model, version: version.version };
    const statements = [
      { sql: createModelSql(modelName, version.artifactUri), params: {} },
      { sql: mlPredictInsertSql(modelName, loaded.signature, plan), params },
    ];
    return { ...base, path: 'bigquery-ml', reason: 'BigQuery ML can import this version: scoring runs inside BigQuery', modelName, statements };
  }
  const reason = !support.importable
    ? `BigQuery ML cannot import this version: ${support.reason}`
    : warehouse.dialect === 'bigquery'
      ? 'fan-out asked for'
      : 'DuckDB has no ML.PREDICT: onnxruntime scores each shard';
  return { ...base, reason, ...(await planShards(warehouse, dataset, shardRows(sizing))) };
}

async function planShards(warehouse: Warehouse, dataset: string, rowsPerShard: number) {
  const points = await warehouse.query<SplitPoint & Record<string, unknown>>(splitPointsSql(), { dataset, shard_rows: rowsPerShard });
  const shards = shardsFrom(points);
  return { path: 'fan-out' as const, shardRows: rowsPerShard, rows: shards.reduce((sum, shard) => sum + shard.rows, 0), shards };
}

/** Runs the BigQuery ML path: imports the version (CREATE OR REPLACE MODEL), then one INSERT from ML.PREDICT. */
export async function scoreWithBigQueryMl(
  plan: WarehouseScoringPlan & { path: 'bigquery-ml' },
  warehouse: StatementWarehouse,
): Promise<WarehouseScoringReport> {
  let rowsScored = 0;
  let bytesProcessed = 0;
  for (const { sql, params } of plan.statements) {
    const statistics = await warehouse.runStatement(sql, params);
    rowsScored += statistics.affectedRows;
    bytesProcessed += statistics.bytesProcessed;
  }
  return { model: plan.model, version: plan.version, dataset: plan.dataset, path: plan.path, rowsScored, shards: 1, bytesProcessed };
}

/**
 * One batch-scoring request per shard, pinned to the planned version. Ids and keys follow from the run's id and the
 * shard, so publishing the same plan again sends the same requests; the prediction ids make a re-run add nothing.
 */
export function shardRequests(plan: WarehouseScoringPlan & { path: 'fan-out' }, runId: string): { request: BatchScoringRequested; key: string }[] {
  const count = plan.shards.length;
  return plan.shards.map(({ index, from, to }) => ({
    request: {
      schemaVersion: 1,
      requestId: `${runId}/shard-${index + 1}-of-${count}`,
      model: plan.model,
      dataset: plan.dataset,
      alias: 'production',
      version: plan.version,
      shard: { index, count, from, to },
    },
    key: shardKey(plan.model, plan.version, plan.dataset, { from, to }),
  }));
}

/** Options of runFanOut. */
export interface RunFanOutOptions {
  bus: EventBus;
  runId: string;
  /** How long to wait for every shard's outcome. */
  timeoutMs: number;
}

/** Publishes every shard's request and waits for each outcome on batch-scored; a failed shard fails the run, naming it. */
export async function runFanOut(
  plan: WarehouseScoringPlan & { path: 'fan-out' },
  { bus, runId, timeoutMs }: RunFanOutOptions,
): Promise<WarehouseScoringReport> {
  const outcomes = await Promise.all(
    shardRequests(plan, runId).map(async ({ request, key }) => {
      const reply = await bus.request(TOPICS.batchScoring, request, {
        replyTopic: TOPICS.batchScored,
        match: { correlationId: request.requestId },
        timeoutMs,
        attributes: { shardKey: key },
      });
      return parseWith(BatchScored, reply.data, 'EVENT.INVALID', `reply on ${TOPICS.batchScored}`);
    }),
  );
  const failed = outcomes.find((outcome) => outcome.status === 'failed');
  if (failed)
    throw new PlatformError(
      'BATCH.FAILED',
      `Shard ${failed.requestId} failed: ${failed.error}. Run the same command again: shards already scored add nothing.`,
    );
  const rowsScored = outcomes.reduce((sum, outcome) => sum + outcome.rowsScored, 0);
  return { model: plan.model, version: plan.version, dataset: plan.dataset, path: plan.path, rowsScored, shards: outcomes.length, bytesProcessed: 0 };
}
