import { join } from 'node:path';
import { jobCommand, runJob } from './jobs.js';
import { type Section, count, mebibytes, seconds, table } from './report.js';

const SIZES = [100_000, 1_000_000];
const JOB = 'scripts/bench/jobs/score-batch.ts';
const SHARDED = { rows: 200_000, shardRows: 50_000 };

/** scoreBatch over offline_features made by DuckDB SQL, each run in its own process for a clean peak RSS. */
export const batchScoringSection: Section = {
  id: 'batch-scoring',
  title: 'Batch scoring: scoreBatch over 100k and 1M offline_features rows, and 200k in one run and in shards',
  async run(context) {
    const rows: (string | number)[][] = [];
    for (const size of SIZES) {
      const db = join(context.workDir, `features-${size}.duckdb`);
      const generated = await runJob(JOB, { BENCH_JOB: 'generate', BENCH_DB: db, BENCH_ROWS: String(size) });
      const scored = await runJob(JOB, { BENCH_JOB: 'score', BENCH_DB: db });
      if (scored.rowsScored !== size) throw new Error(`scored ${scored.rowsScored} of ${size} rows`);
      rows.push([
        count(size),
        seconds(scored.ms!),
        count(size / (scored.ms! / 1000)),
        mebibytes(scored.peakRss!),
        mebibytes(scored.peakRss! - scored.rssBefore!),
        seconds(generated.ms!),
      ]);
    }
    const sharded = await shardedRuns(context.workDir);
    return {
      title: this.title,
      body: [
        table(['rows', 'time', 'rows/s', 'peak RSS', 'peak over start', 'generating them (SQL)'], rows),
        '',
        `The same ${count(SHARDED.rows)} rows scored in one run and as the fan-out's shards of ~${count(SHARDED.shardRows)} rows, each shard a process of its own as each is a function instance on Google Cloud (one after another here: one DuckDB file takes one writer):`,
        '',
        table(['run', 'processes', 'scoring time (sum)', 'rows/s', 'highest peak RSS'], sharded),
        '',
        'The scoring process loads the small model, pages through the dataset 5,000 rows at a time (keyset pagination on entity id and event time), scores each page in one session.run and writes it to `predictions` in one idempotent insert. Peak RSS is the process’s VmHWM from /proc (everything it ever held, DuckDB’s buffers included); “over start” subtracts the RSS before the run. Features are made beforehand, in another process, by `INSERT INTO offline_features SELECT … FROM range(n)` (4 numeric features as JSON).',
        '',
        `- generate: \`${jobCommand(JOB, { BENCH_JOB: 'generate', BENCH_DB: '<file>', BENCH_ROWS: '<n>' })}\``,
        `- score: \`${jobCommand(JOB, { BENCH_JOB: 'score', BENCH_DB: '<file>' })}\``,
        `- one shard: \`${jobCommand(JOB, { BENCH_JOB: 'score', BENCH_DB: '<file>', BENCH_SHARD_ROWS: '<n>', BENCH_SHARD: '<i>' })}\``,
      ].join('\n'),
      targets: [],
    };
  },
};

/** One run and the shard runs over the same rows (two copies of one generated file, so each starts unscored). */
async function shardedRuns(workDir: string): Promise<(string | number)[][]> {
  const single = join(workDir, 'features-sharded-single.duckdb');
  const shardedDb = join(workDir, 'features-sharded.duckdb');
  for (const db of [single, shardedDb]) await runJob(JOB, { BENCH_JOB: 'generate', BENCH_DB: db, BENCH_ROWS: String(SHARDED.rows) });
  const one = await runJob(JOB, { BENCH_JOB: 'score', BENCH_DB: single });
  const shards = [];
  const env = { BENCH_JOB: 'score', BENCH_DB: shardedDb, BENCH_SHARD_ROWS: String(SHARDED.shardRows) };
  const first = await runJob(JOB, { ...env, BENCH_SHARD: '0' });
  shards.push(first);
  for (let index = 1; index < first.shards!; index++) shards.push(await runJob(JOB, { ...env, BENCH_SHARD: String(index) }));
  const scored = shards.reduce((sum, shard) => sum + shard.rowsScored!, 0);
  if (one.rowsScored !== SHARDED.rows || scored !== SHARDED.rows) throw new Error(`scored ${one.rowsScored} and ${scored} of ${SHARDED.rows} rows`);
  const shardMs = shards.reduce((sum, shard) => sum + shard.scoreMs!, 0);
  return [
    ['single', 1, seconds(one.scoreMs!), count(SHARDED.rows / (one.scoreMs! / 1000)), mebibytes(one.peakRss!)],
    ['sharded', shards.length, seconds(shardMs), count(SHARDED.rows / (shardMs / 1000)), mebibytes(Math.max(...shards.map((shard) => shard.peakRss!)))],
  ];
}
