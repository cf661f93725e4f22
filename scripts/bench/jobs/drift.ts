import { readFileSync } from 'node:fs';
import { DuckDbWarehouse } from '../../../shared/adapters/duckdb/index.js';
import { driftSettingsFromTags } from '../../../shared/domain/drift/methods.js';
import { TABLES } from '../../../shared/domain/tables.js';
import { computeVersionDrift } from '../../../shared/services/version-drift.js';
import { benchVersion, smallModelOnnx } from '../models.js';

// One drift step in a process of its own, so its peak RSS is the run's alone:
//   BENCH_JOB=generate BENCH_DB=<file> BENCH_ROWS=<n>  n predictions over two days, made by DuckDB SQL range(),
//                                                      the second day's f0 and f1 shifted (drift to find)
//   BENCH_JOB=drift    BENCH_DB=<file>                 one drift run: day 2 against day 1 (the launch window)
// Prints one JSON line.
const job = process.env.BENCH_JOB;
const warehouse = new DuckDbWarehouse({ path: process.env.BENCH_DB!, dataset: 'mlops' });
const rows = Number(process.env.BENCH_ROWS ?? 0);
const MODEL = 'bench-small';
const START = new Date('2026-01-01T00:00:00Z');
const DAY_MS = 86_400_000;

// The predictions table without its primary key: drift reads by scanning, and building the key
// index for 10M rows would take most of the run. Columns and types are the platform's.
const GENERATE_SQL = `CREATE OR REPLACE TABLE {{predictions}} AS
SELECT 'p' || CAST(i AS VARCHAR) AS prediction_id, @model AS model, CAST(1 AS BIGINT) AS version,
  @start + to_microseconds(CAST(i * @spacing AS BIGINT)) AS request_time,
  CAST(json_object('f0', (hash(i) % 1000) / 100.0 + CASE WHEN i >= @half THEN 1.5 ELSE 0 END,
              'f1', CAST(hash(i + 1) % 5 AS DOUBLE) + CASE WHEN i >= @half THEN 1 ELSE 0 END,
              'f2', (hash(i + 2) % 100) / 100.0, 'f3', CAST(i % 2 AS DOUBLE)) AS JSON) AS features,
  CAST(json_object('probability', (hash(i + 3) % 1000) / 1000.0, 'label', CAST(i % 2 AS BIGINT)) AS JSON) AS outputs,
  CAST(0.05 AS DOUBLE) AS latency_ms, 'online' AS source
FROM range(@rows) AS t(i)`;

const started = performance.now();
let flagged: string | undefined;
if (job === 'generate') {
  await warehouse.ensureTables(TABLES);
  const spacing = Math.floor((2 * DAY_MS * 1000) / rows);
  await warehouse.query(GENERATE_SQL, { model: MODEL, start: START, spacing, half: Math.floor(rows / 2), rows });
} else if (job === 'drift') {
  const bytes = smallModelOnnx();
  const version = benchVersion(bytes, { inputs: [], outputs: [] }, MODEL);
  const window = { model: MODEL, version: 1, start: new Date(START.getTime() + DAY_MS), end: new Date(START.getTime() + 2 * DAY_MS) };
  const drift = await computeVersionDrift(warehouse, version, window, driftSettingsFromTags({}));
  flagged = drift.features
    .filter((feature) => feature.drifted)
    .map((feature) => `${feature.feature} (${feature.method})`)
    .join(', ');
} else throw new Error(`BENCH_JOB must be generate or drift, got ${job}`);
process.stdout.write(`${JSON.stringify({ ms: performance.now() - started, peakRss: highWaterMark(), flagged })}\n`);
await warehouse.close();

function highWaterMark(): number {
  const match = readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s+(\d+) kB/);
  return match ? Number(match[1]) * 1024 : process.memoryUsage.rss();
}
