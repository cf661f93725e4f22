import { readFileSync } from 'node:fs';
import { DuckDbWarehouse } from '../../../shared/adapters/duckdb/index.js';
import { OnnxModelRunner } from '../../../shared/adapters/onnx/index.js';
import { TABLES } from '../../../shared/domain/tables.js';
import type { EntityRange } from '../../../shared/domain/warehouse-scoring.js';
import { scoreBatch } from '../../../shared/services/score-batch.js';
import type { ServingModel } from '../../../shared/services/serving-model.js';
import { planWarehouseScoring } from '../../../shared/services/warehouse-scoring.js';
import { benchVersion, smallModelOnnx } from '../models.js';

// One batch scoring step in a process of its own, so its peak RSS is the run's alone:
//   BENCH_JOB=generate  BENCH_DB=<file> BENCH_ROWS=<n>   offline_features rows made by DuckDB SQL range()
//   BENCH_JOB=score     BENCH_DB=<file>                  scoreBatch over them with the small model
//   BENCH_JOB=score     BENCH_DB=<file> BENCH_SHARD_ROWS=<n> BENCH_SHARD=<i>
//                                                        only shard i of the fan-out plan with shards of ~n rows
// Prints one JSON line.
const job = process.env.BENCH_JOB;
const path = process.env.BENCH_DB!;
const rows = Number(process.env.BENCH_ROWS ?? 0);
const dataset = process.env.BENCH_DATASET ?? 'bench';
const warehouse = new DuckDbWarehouse({ path, dataset: 'mlops' });

// Four numeric features, entity ids in key order, one event time each: the shape `mlops features load` writes.
const GENERATE_SQL = `INSERT INTO {{offline_features}}
SELECT @dataset, 'e' || lpad(CAST(i AS VARCHAR), 9, '0'), TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(i % 86400),
  json_object('f0', (i % 7) / 7.0, 'f1', CAST(i % 3 AS DOUBLE), 'f2', 0.5, 'f3', CAST(i % 2 AS DOUBLE)), now()
FROM range(@rows) AS t(i)`;

const started = performance.now();
if (job === 'generate') {
  await warehouse.ensureTables(TABLES);
  await warehouse.query(GENERATE_SQL, { dataset, rows });
} else if (job === 'score') {
  const rssBefore = process.memoryUsage.rss();
  const bytes = smallModelOnnx();
  const loaded = await new OnnxModelRunner().load(bytes);
  const model = { version: benchVersion(bytes, loaded.signature), loaded, bytes };
  const { range, shards } = await shardRange(model);
  const scoring = performance.now();
  const report = await scoreBatch({ dataset, warehouse, model, range });
  const ms = performance.now() - started;
  const output = { ms, scoreMs: performance.now() - scoring, shards, rssBefore, peakRss: highWaterMark(), rowsScored: report.rowsScored };
  process.stdout.write(`${JSON.stringify({ ...output, sampledPeakRss: report.peakRssBytes })}\n`);
} else throw new Error(`BENCH_JOB must be generate or score, got ${job}`);
if (job === 'generate') process.stdout.write(`${JSON.stringify({ ms: performance.now() - started })}\n`);
await warehouse.close();

/** With BENCH_SHARD_ROWS, the entity range of shard BENCH_SHARD of the fan-out plan, as its batch-scoring message carries it. */
async function shardRange(model: ServingModel): Promise<{ range?: EntityRange; shards: number }> {
  const rows = Number(process.env.BENCH_SHARD_ROWS ?? 0);
  if (!rows) return { shards: 1 };
  const plan = await planWarehouseScoring({ dataset, model, warehouse, sizing: { rowsPerSecond: rows, timeLimitSeconds: 1, safetyFactor: 1 } });
  if (plan.path !== 'fan-out') throw new Error(`expected a fan-out plan on DuckDB, got ${plan.path}`);
  const shard = plan.shards[Number(process.env.BENCH_SHARD ?? 0)];
  if (!shard) throw new Error(`BENCH_SHARD must be below ${plan.shards.length}`);
  return { range: shard, shards: plan.shards.length };
}

/** The process's peak resident set (VmHWM), in bytes: every allocation counts, not only the sampled moments. */
function highWaterMark(): number {
  const match = readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s+(\d+) kB/);
  return match ? Number(match[1]) * 1024 : process.memoryUsage.rss();
}
