import { join } from 'node:path';
import { jobCommand, runJob } from './jobs.js';
import { type Section, count, mebibytes, seconds, table } from './report.js';

const SIZES = [100_000, 1_000_000, 10_000_000];
const JOB = 'scripts/bench/jobs/drift.ts';

/** Wall time and peak RSS of one drift run over growing prediction windows. */
export const driftSection: Section = {
  id: 'drift',
  title: 'Drift: one drift run over 100k, 1M and 10M prediction rows',
  async run(context) {
    const rows: string[][] = [];
    for (const size of SIZES) {
      const db = join(context.workDir, `predictions-${size}.duckdb`);
      const generated = await runJob(JOB, { BENCH_JOB: 'generate', BENCH_DB: db, BENCH_ROWS: String(size) });
      const run = await runJob(JOB, { BENCH_JOB: 'drift', BENCH_DB: db });
      rows.push([count(size), seconds(run.ms!), mebibytes(run.peakRss!), run.flagged || 'none', seconds(generated.ms!)]);
    }
    return {
      title: this.title,
      body: [
        table(['prediction rows (two days)', 'drift run', 'peak RSS', 'drift found (f0 and f1 were shifted)', 'generating them (SQL)'], rows),
        '',
        'One `computeVersionDrift` call (shared/services/compute-drift.ts) in a process of its own: the second day’s predictions against the first (its launch window), 4 input features and 2 outputs, default settings. The statistics run inside DuckDB and only per-feature summaries reach the process. Peak RSS is the process’s VmHWM from /proc. The rows are made beforehand, in another process, by `CREATE TABLE predictions AS SELECT … FROM range(n)` with the platform’s columns but without the primary-key index, which drift does not use and which would take most of the time at 10M.',
        '',
        `- generate: \`${jobCommand(JOB, { BENCH_JOB: 'generate', BENCH_DB: '<file>', BENCH_ROWS: '<n>' })}\``,
        `- drift run: \`${jobCommand(JOB, { BENCH_JOB: 'drift', BENCH_DB: '<file>' })}\``,
      ].join('\n'),
      targets: [],
    };
  },
};
