import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DuckDbWarehouse } from '../../shared/adapters/duckdb/index.js';
import type { PredictionRecord } from '../../shared/domain/events.js';
import { predictionRow } from '../../shared/domain/prediction-rows.js';
import { TABLES } from '../../shared/domain/tables.js';
import { platform } from '../../shared/runtime/index.js';
import { PredictionLog } from '../../shared/services/prediction-log.js';
import type { BenchContext } from './context.js';
import { featureRows } from './models.js';
import { type Section, commands, count, ms, seconds, table } from './report.js';

/** Prediction events sent through ingest-predictions: what a busy serving revision logs in a few seconds. */
const EVENTS = 50_000;
/** Records per message, as the prediction log batches them. */
const BATCH = 500;
const RAW_ROWS = 50_000;
const TIMEOUT_MS = 120_000;

/** Prediction events per second into the warehouse, end to end and for the bare insert. */
export const ingestSection: Section = {
  id: 'ingest',
  title: 'Ingest: prediction events into the warehouse (DuckDB)',
  async run(context) {
    const pipeline = await throughIngest(context);
    const raw500 = await rawInsert(context, 500);
    const raw5000 = await rawInsert(context, 5000);
    return {
      title: this.title,
      body: [
        table(
          ['path', 'events', 'time', 'events/s'],
          [
            [
              `PredictionLog → Pub/Sub emulator → ingest-predictions (Functions Framework) → DuckDB, ${BATCH} per message`,
              count(EVENTS),
              seconds(pipeline.totalMs),
              count(EVENTS / (pipeline.totalMs / 1000)),
            ],
            ['`warehouse.insert` (DuckDB file), batches of 500', count(RAW_ROWS), seconds(raw500), count(RAW_ROWS / (raw500 / 1000))],
            ['`warehouse.insert` (DuckDB file), batches of 5,000', count(RAW_ROWS), seconds(raw5000), count(RAW_ROWS / (raw5000 / 1000))],
          ],
        ),
        '',
        `End to end: the clock starts before the first \`PredictionLog.log\` and stops when \`SELECT COUNT(*)\` on the platform's predictions table sees all ${count(EVENTS)} rows (polled every 50 ms); publishing alone took ${ms(pipeline.publishMs)}. The local runner delivers the subscription by pull and push to the function (as Pub/Sub push would), 200 messages in flight at most. The platform (functions, DuckDB) runs in the benchmark process; the emulator in its own. Each insert stages the batch with DuckDB's appender and copies it with \`ON CONFLICT DO NOTHING\` on the prediction id, so redelivery adds nothing.`,
        '',
        commands([
          [
            'end to end',
            `new PredictionLog({ bus: () => platform().eventBus() }).log(records) × ${EVENTS / BATCH}; flush(); poll SELECT COUNT(*) FROM predictions`,
          ],
          ['raw insert', `new DuckDbWarehouse({ path: <tmp>/insert.duckdb, dataset: 'mlops' }).insert('predictions', rows) in batches`],
        ]),
      ].join('\n'),
      targets: [],
    };
  },
};

function records(model: string, total: number): PredictionRecord[] {
  const rows = featureRows(64);
  const requestTime = new Date().toISOString();
  return Array.from({ length: total }, (_, index) => {
    const values = rows[index % rows.length]!;
    return {
      predictionId: randomUUID(),
      model,
      version: 1,
      requestTime,
      features: Object.fromEntries(values.map((value, column) => [`f${column}`, value])),
      outputs: { probability: 0.5 + (index % 50) / 100, label: index % 2 },
      latencyMs: 0.05,
      source: 'online',
    };
  });
}

async function throughIngest(context: BenchContext): Promise<{ totalMs: number; publishMs: number }> {
  await context.platform();
  const warehouse = await platform().warehouse();
  const model = `bench-ingest-${Date.now()}`;
  const all = records(model, EVENTS);
  const log = new PredictionLog({ bus: () => platform().eventBus(), batchSize: BATCH, maxBufferedBytes: 1024 * 1024 * 1024 });
  const started = performance.now();
  for (let start = 0; start < all.length; start += BATCH) log.log(all.slice(start, start + BATCH));
  await log.flush();
  const publishMs = performance.now() - started;
  if (log.stats.published !== EVENTS) throw new Error(`published ${log.stats.published} of ${EVENTS} events`);
  while (performance.now() - started < TIMEOUT_MS) {
    const [row] = await warehouse.query<{ n: number }>('SELECT COUNT(*) AS n FROM {{predictions}} WHERE model = @model', { model });
    if (Number(row?.n) >= EVENTS) return { totalMs: performance.now() - started, publishMs };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`not all ${EVENTS} events were ingested within ${TIMEOUT_MS / 1000} s`);
}

async function rawInsert(context: BenchContext, batch: number): Promise<number> {
  const warehouse = new DuckDbWarehouse({ path: join(context.workDir, `insert-${batch}.duckdb`), dataset: 'mlops' });
  try {
    await warehouse.ensureTables(TABLES);
    const rows = records('bench-insert', RAW_ROWS).map(predictionRow);
    const started = performance.now();
    for (let start = 0; start < rows.length; start += batch) await warehouse.insert('predictions', rows.slice(start, start + batch));
    return performance.now() - started;
  } finally {
    await warehouse.close();
  }
}
