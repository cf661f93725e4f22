import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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
import { FIXTURES } from '../support/paths.js';

interface Reference {
  dataset: string;
  featureNames: string[];
  rows: { entity_id: string; event_time: string; features: number[] }[];
  probabilities: Record<string, number>;
}
const reference = JSON.parse(readFileSync(join(FIXTURES, 'run-job-reference.json'), 'utf8')) as Reference;

// The run-job function on the local platform, fed by `mlops jobs run`: the message a schedule would publish.
describe('mlops jobs list|run: declared jobs run by the run-job function', () => {
  let local: LocalPlatform;
  let warehouse: Warehouse;
  const folder = mkdtempSync(join(tmpdir(), 'job-commands-'));
  const jobsFile = join(folder, 'jobs.json');
  const batchIds = async () =>
    (await warehouse.query<{ prediction_id: string }>("SELECT prediction_id FROM {{predictions}} WHERE source = 'batch' ORDER BY prediction_id")).map(
      (row) => row.prediction_id,
    );

  beforeAll(async () => {
    process.env.MLOPS_LOG_LEVEL = 'silent';
    const ports = { pubsub: await freePort(), firestore: await freePort(), functions: 0 };
    const functions = FUNCTIONS.filter((spec) => ['register-model', 'registry-api', 'promote-model', 'run-job'].includes(spec.name));
    local = await startLocalPlatform({ dataDir: join(folder, 'data'), ports, fresh: true, scheduler: false, functions });
    warehouse = await platform().warehouse();
    await warehouse.ensureTables(TABLES);
    const loadedAt = new Date().toISOString();
    await warehouse.insert(
      'offline_features',
      reference.rows.map((row) => ({
        dataset_id: reference.dataset,
        entity_id: row.entity_id,
        event_time: row.event_time,
        features: Object.fromEntries(reference.featureNames.map((name, index) => [name, row.features[index]])),
        loaded_at: loadedAt,
      })),
    );
    const model = join(folder, 'model.onnx');
    writeFileSync(model, binaryClassifierOnnx());
    expect((await mlops('upload', model, '--name', 'churn')).stderr).toBe('');
    expect((await mlops('promote', 'churn', '1', '--to', 'production')).stderr).toBe('');
    writeFileSync(
      jobsFile,
      JSON.stringify({
        jobs: [
          { name: 'nightly-score', schedule: '0 2 * * *', kind: 'batch-score', model: 'churn', dataset: reference.dataset },
          { name: 'score-nobody', schedule: '30 2 * * *', kind: 'batch-score', model: 'nobody', dataset: reference.dataset },
        ],
      }),
    );
  }, 120_000);
  afterAll(async () => {
    await local?.stop();
  });

  it('lists the declared jobs with their next run, never run yet', async () => {
    const listed = await mlops('jobs', 'list', '--jobs', jobsFile);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    const [header, ...rows] = listed.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^NAME\s+KIND\s+SCHEDULE\s+NEXT RUN \(UTC\)\s+LAST RUN\s+STATUS$/);
    expect(rows[0]).toMatch(/^nightly-score\s+batch-score\s+0 2 \* \* \*\s+\d{4}-\d\d-\d\dT02:00:00\.000Z\s+never\s+-$/);
    expect(rows[1]).toMatch(/^score-nobody\s+batch-score\s+30 2 \* \* \*\s+\d{4}-\d\d-\d\dT02:30:00\.000Z\s+never\s+-$/);
  });

  it('runs a batch-score job now and prints its report: every row scored with production, as numpy ids them', async () => {
    const ran = await mlops('jobs', 'run', 'nightly-score', '--jobs', jobsFile, '--timeout', '120');
    expect(ran.stderr).toBe('');
    expect(ran.stdout).toMatch(/^Job nightly-score \(batch-score\) succeeded: run nightly-score@\S+Z/);
    expect(JSON.parse(ran.stdout.slice(ran.stdout.indexOf('\n') + 1))).toMatchObject({
      model: 'churn',
      version: 1,
      alias: 'production',
      path: 'in-process',
      rowsScored: reference.rows.length,
    });
    expect(await batchIds()).toEqual(Object.keys(reference.probabilities).sort());

    const listed = JSON.parse((await mlops('jobs', 'list', '--jobs', jobsFile, '--json')).stdout) as { job: { name: string }; lastRun?: { status: string } }[];
    expect(listed.map((row) => [row.job.name, row.lastRun?.status])).toEqual([
      ['nightly-score', 'succeeded'],
      ['score-nobody', undefined],
    ]);
  });

  it('prints a failed run as an error, and refuses an unknown job or a bad jobs file naming the fault', async () => {
    const failed = await mlops('jobs', 'run', 'score-nobody', '--jobs', jobsFile, '--timeout', '120');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^error: Job score-nobody failed \(run score-nobody@\S+, attempt 1\): No model named "nobody".* \[JOB\.FAILED\]\n$/);

    const unknown = await mlops('jobs', 'run', 'nightly-scor', '--jobs', jobsFile);
    expect(unknown).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('No job named "nightly-scor" (declared: nightly-score, score-nobody). Did you mean "nightly-score"?'),
    });

    const bad = join(folder, 'bad.json');
    writeFileSync(bad, JSON.stringify({ jobs: [{ name: 'report', schedule: 'daily', kind: 'report' }] }));
    const refused = await mlops('jobs', 'list', '--jobs', bad);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${bad}: jobs[0]: Invalid job "report": schedule: Cron expression "daily" must have 5 fields`);
  });

  it('publishes without waiting with --no-wait', async () => {
    const published = await mlops('jobs', 'run', 'nightly-score', '--jobs', jobsFile, '--no-wait', '--json');
    expect(published.code).toBe(0);
    expect(JSON.parse(published.stdout)).toEqual({ id: expect.stringMatching(/^nightly-score@/), published: 'scheduled-jobs' });
  });
});
