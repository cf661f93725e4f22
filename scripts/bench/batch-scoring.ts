import { join } from 'node:path';
import { jobCommand, runJob } from './jobs.js';
import { type Section, count, mebibytes, seconds, table } from './report.js';

const SIZES = [100_000, 1_000_000];
const JOB = 'scripts/bench/jobs/score-batch.ts';

/** scoreBatch over offline_features made by DuckDB SQL, each run in its own process for a clean peak RSS. */
export const batchScoringSection: Section = {
  id: 'batch-scoring',
  title: 'Batch scoring: scoreBatch over 100k and 1M offline_features rows',
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
    return {
      title: this.title,
      body: [
        table(['rows', 'time', 'rows/s', 'peak RSS', 'peak over start', 'generating them (SQL)'], rows),
        '',
        'The scoring process loads the small model, pages through the dataset 5,000 rows at a time (keyset pagination on entity id and event time), scores each page in one session.run and writes it to `predictions` in one idempotent insert. Peak RSS is the process’s VmHWM from /proc (everything it ever held, DuckDB’s buffers included); “over start” subtracts the RSS before the run. Features are made beforehand, in another process, by `INSERT INTO offline_features SELECT … FROM range(n)` (4 numeric features as JSON).',
        '',
        `- generate: \`${jobCommand(JOB, { BENCH_JOB: 'generate', BENCH_DB: '<file>', BENCH_ROWS: '<n>' })}\``,
        `- score: \`${jobCommand(JOB, { BENCH_JOB: 'score', BENCH_DB: '<file>' })}\``,
      ].join('\n'),
      targets: [],
    };
  },
};
