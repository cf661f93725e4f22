/**
 * Peak RSS and wall time of one monitoring run (drift, performance, health, alerts) over 1M and 10M
 * prediction rows in DuckDB. Rows are made by DuckDB SQL range(), never by JS loops; each run goes
 * in a fresh process so its high-water mark is its own.
 *
 *   npx tsx scripts/bench/drift-memory.ts [--rows 1000000,10000000] [--memory-limit 512MB] [--keep]
 *
 * The current window (one day) holds the given number of predictions, tenure and plan shifted, 10%
 * of them labelled; the reference is a 200,000-row training dataset, the launch window 100,000 rows.
 * `score` is uniform and unrounded, so its Wasserstein distance takes the binned path at these sizes.
 * `--memory-limit` sets DuckDB's memory_limit for the run: by default DuckDB keeps scanned blocks
 * cached up to 80% of RAM, which is all of the RSS growth from 1M to 10M rows (measured here: 224 →
 * 647 MiB by default, 216 → 235 MiB with 64MB; the JS heap stays at 13 MiB either way).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDbWarehouse } from '../../shared/adapters/duckdb/index.js';
import { TABLES } from '../../shared/domain/tables.js';
import type { EventBus } from '../../shared/ports/event-bus.port.js';
import type { ModelRegistry } from '../../shared/ports/model-registry.port.js';
import { runMonitoring } from '../../shared/services/monitoring-run.js';

const DAY_MICROS = 86_400_000_000;
const LAUNCH = new Date('2026-01-01T00:00:00Z');
const CURRENT = new Date('2026-01-03T00:00:00Z');
const WINDOW_END = new Date('2026-01-04T00:00:00Z');

// One row per i: tenure ~ N(mean, 6) by Box-Muller, lognormal spend, uniform age, plan and region by shares.
const FEATURES_SQL = (rows: string, tenureMean: string, basicShare: string) => `SELECT i, tenure, u, 1 / (1 + exp(-(tenure - 27) / 4)) AS p,
  json_object('tenure', tenure, 'score', random(), 'spend', round(exp(3 + 0.5 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())), 2),
    'age', round(18 + 52 * random(), 1),
    'plan', CASE WHEN u < ${basicShare} THEN 'basic' WHEN u < ${basicShare} + 0.3 THEN 'plus' ELSE 'pro' END,
    'region', CASE WHEN random() < 0.6 THEN 'eu' ELSE 'us' END) AS features
FROM (SELECT i, round(${tenureMean} + 6 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()), 2) AS tenure, random() AS u FROM range(${rows}) AS t(i)) AS g`;

const PREDICTIONS_SQL = (prefix: string, tenureMean: number, basicShare: number) => `INSERT INTO {{predictions}}
SELECT '${prefix}' || CAST(i AS VARCHAR), 'bench', 1, @start + to_microseconds(CAST(i * @spacing AS BIGINT)), features,
  json_object('probability', round(p, 6), 'label', CASE WHEN p >= 0.5 THEN 1 ELSE 0 END), 1 + (i % 100) / 10.0, 'online'
FROM (${FEATURES_SQL('@rows', String(tenureMean), String(basicShare))}) AS f`;

const DATASET_SQL = `INSERT INTO {{offline_features}}
SELECT 'bench-train', 'e' || CAST(i AS VARCHAR), TIMESTAMPTZ '2025-12-01 00:00:00+00', features, TIMESTAMPTZ '2025-12-01 00:00:00+00'
FROM (${FEATURES_SQL('@rows', '24', '0.5')}) AS f`;

const GROUND_TRUTH_SQL = `INSERT INTO {{ground_truth}}
SELECT prediction_id, CASE WHEN random() < CAST(json_extract_string(outputs, '$.probability') AS DOUBLE) THEN '1' ELSE '0' END, NULL, @observed
FROM {{predictions}} WHERE prediction_id LIKE 'c%' AND hash(prediction_id) % 10 = 0`;

/** Fills a DuckDB file: 200k-row training set, 100k launch-day predictions, `rows` current-day predictions, 10% labelled. */
async function generate(path: string, rows: number): Promise<void> {
  const warehouse = new DuckDbWarehouse({ path, dataset: 'mlops' });
  await warehouse.ensureTables(TABLES);
  await warehouse.query('SELECT setseed(0.42) AS seeded');
  await warehouse.query(DATASET_SQL, { rows: 200_000 });
  await warehouse.query(PREDICTIONS_SQL('l', 24, 0.5), { rows: 100_000, start: LAUNCH, spacing: Math.floor(DAY_MICROS / 100_000) });
  await warehouse.query(PREDICTIONS_SQL('c', 30, 0.2), { rows, start: CURRENT, spacing: Math.floor(DAY_MICROS / rows) });
  await warehouse.query(GROUND_TRUTH_SQL, { observed: WINDOW_END });
  await warehouse.query('CHECKPOINT');
  await warehouse.close();
}

/** A registry with one model, `bench` v1 in production, trained on `bench-train`. */
const registry = {
  listModels: async () => [
    { name: 'bench', latestVersion: 1, aliases: { production: 1 }, aliasHistory: {}, tags: {}, description: '', createdAt: '', updatedAt: '' },
  ],
  getModel: async () => undefined,
  getVersion: async () => ({
    model: 'bench',
    version: 1,
    status: 'ready',
    artifactUri: '',
    generation: '1',
    sha256: '',
    sizeBytes: 0,
    signature: { inputs: [], outputs: [] },
    metrics: {},
    params: {},
    tags: {},
    description: '',
    lineage: { sourceUri: 'bench', datasetId: 'bench-train' },
    createdAt: '',
  }),
} as unknown as ModelRegistry;

const bus: EventBus = {
  publish: async () => '1',
  request: async () => {
    throw new Error('the benchmark never waits for a reply');
  },
  close: async () => {},
};

function highWaterMark(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : process.memoryUsage.rss();
}

/** In the child: one monitoring run, reporting time, peak RSS, RSS before the run and the JS heap's peak. */
async function measure(path: string, memoryLimit?: string): Promise<void> {
  const warehouse = new DuckDbWarehouse({ path, dataset: 'mlops' });
  await warehouse.ensureTables(TABLES);
  if (memoryLimit) await warehouse.query(`SET memory_limit = '${memoryLimit.replace(/[^\w.]/g, '')}'`);
  const rssBefore = process.memoryUsage.rss();
  let heapPeak = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => (heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)), 20);
  const started = performance.now();
  const report = await runMonitoring({ registry, warehouse, bus }, { windowHours: 24, windowEnd: WINDOW_END });
  const ms = performance.now() - started;
  clearInterval(sampler);
  const [version] = report.versions;
  const drifted = version?.features.filter((feature) => feature.drifted).map((feature) => feature.feature) ?? [];
  const methods = Object.fromEntries(
    version?.features.map((feature) => [feature.feature, `${feature.method}${feature.tolerance ? ` ±${feature.tolerance.toExponential(1)}` : ''}`]) ?? [],
  );
  process.stdout.write(`${JSON.stringify({ ms, peakRss: highWaterMark(), rssBefore, heapPeak, drifted, methods, performance: version?.performance })}\n`);
  await warehouse.close();
}

function child(args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const process_ = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    process_.stdout.on('data', (chunk) => (out += chunk));
    process_.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!)) : reject(new Error(`child exited ${code}`))));
  });
}

const mib = (bytes: unknown) => `${((bytes as number) / 2 ** 20).toFixed(0)} MiB`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000,10000000' },
      keep: { type: 'boolean', default: false },
      child: { type: 'string' },
      db: { type: 'string' },
      'memory-limit': { type: 'string' },
    },
  });
  if (values.child === 'generate') {
    await generate(values.db!, Number(values.rows));
    return void process.stdout.write('{}\n');
  }
  if (values.child === 'measure') return measure(values.db!, values['memory-limit']);
  const folder = mkdtempSync(join(tmpdir(), 'drift-memory-'));
  const details: string[] = [];
  try {
    console.log('| prediction rows in the window | drift run | peak RSS | RSS before the run | JS heap peak | generating (SQL) |');
    console.log('|---|---|---|---|---|---|');
    for (const rows of values.rows.split(',').map(Number)) {
      const db = join(folder, `bench-${rows}.duckdb`);
      const started = performance.now();
      await child(['--child', 'generate', '--db', db, '--rows', String(rows)]);
      const generated = (performance.now() - started) / 1000;
      const limit = values['memory-limit'] ? ['--memory-limit', values['memory-limit']] : [];
      const run = await child(['--child', 'measure', '--db', db, ...limit]);
      console.log(
        `| ${rows.toLocaleString('en')} | ${((run.ms as number) / 1000).toFixed(1)} s | ${mib(run.peakRss)} | ${mib(run.rssBefore)} | ${mib(run.heapPeak)} | ${generated.toFixed(0)} s |`,
      );
      details.push(
        `- ${rows.toLocaleString('en')}: drifted ${(run.drifted as string[]).join(', ')}; methods ${JSON.stringify(run.methods)}; performance ${JSON.stringify(run.performance)}`,
      );
      if (!values.keep) rmSync(db, { force: true });
    }
  } finally {
    if (!values.keep) rmSync(folder, { recursive: true, force: true });
  }
  console.log(`\n${details.join('\n')}`);
}

await main();
