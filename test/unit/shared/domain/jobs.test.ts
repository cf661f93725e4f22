import { describe, expect, it } from 'vitest';
import { isPlatformError } from '../../../../shared/domain/errors.js';
import { claimRun, type JobRun, jobRunId, nextRunOf, parseJob, parseJobs, readScheduledJob, scheduledJobMessage } from '../../../../shared/domain/jobs.js';

const refusal = (work: () => unknown): Error => {
  try {
    work();
  } catch (error) {
    if (isPlatformError(error, 'JOB.INVALID')) return error;
    throw error;
  }
  throw new Error('expected a JOB.INVALID refusal');
};

describe('job definitions', () => {
  it('fills in the production alias for the kinds that resolve one, and only those', () => {
    expect(parseJob({ name: 'nightly', schedule: '0 2 * * *', kind: 'batch-score', model: 'churn', dataset: 'customers' })).toEqual({
      name: 'nightly',
      schedule: '0 2 * * *',
      kind: 'batch-score',
      model: 'churn',
      dataset: 'customers',
      alias: 'production',
    });
    expect(parseJob({ name: 'retrain', schedule: '0 3 * * 1', kind: 'retrain', model: 'churn', alias: 'champion' }).alias).toBe('champion');
    expect(parseJob({ name: 'report', schedule: '0 6 * * *', kind: 'report' })).not.toHaveProperty('alias');
  });

  it('names each field a kind needs, and each it does not use', () => {
    expect(refusal(() => parseJob({ name: 'score', schedule: '0 2 * * *', kind: 'batch-score' })).message).toBe(
      'Invalid job "score": model: a batch-score job needs "model": it scores an offline_features dataset with the version an alias names; ' +
        'dataset: a batch-score job needs "dataset": it scores an offline_features dataset with the version an alias names',
    );
    expect(refusal(() => parseJob({ name: 'online', schedule: '0 2 * * *', kind: 'materialize', dataset: 'd', model: 'churn' })).message).toMatch(
      /model: a materialize job does not use "model"; remove it/,
    );
    expect(refusal(() => parseJob({ name: 'retrain', schedule: '0 2 * * *', kind: 'retrain' })).message).toMatch(/model: a retrain job needs "model"/);
    expect(refusal(() => parseJob({ name: 'x', schedule: '0 2 * * *', kind: 'train' })).message).toMatch(
      /kind: expected one of batch-score, drift, report, retrain, materialize/,
    );
    expect(refusal(() => parseJob({ name: 'x', schedule: '0 2 * * *', kind: 'drift', windowHours: 24 * 91 })).message).toMatch(/windowHours/);
    expect(refusal(() => parseJob({ name: 'x', schedule: '0 2 * * *', kind: 'drift', modle: 'churn' })).message).toMatch(/modle/);
  });

  it('refuses a schedule the local scheduler and Cloud Scheduler would not both read, and a bad name', () => {
    expect(refusal(() => parseJob({ name: 'x', schedule: '0 2 * *', kind: 'drift' })).message).toMatch(
      /schedule: Cron expression "0 2 \* \*" must have 5 fields/,
    );
    expect(refusal(() => parseJob({ name: 'x', schedule: '0 2 * * MON', kind: 'drift' })).message).toMatch(
      /day of week field "MON" is not understood; write e\.g\. "0 2 \* \* \*" \(02:00 every day\)$/,
    );
    expect(refusal(() => parseJob({ name: 'Nightly Score', schedule: '0 2 * * *', kind: 'drift' })).message).toMatch(/name: a job name: 1-63 lowercase/);
  });

  it('refuses two jobs of one name, and says which entry is wrong', () => {
    const drift = { name: 'drift', schedule: '0 * * * *', kind: 'drift' };
    expect(refusal(() => parseJobs([drift, drift])).message).toBe('Two jobs are named "drift": job names must be unique; rename one.');
    expect(refusal(() => parseJobs([drift, { ...drift, name: 'other', kind: 'materialize' }])).message).toMatch(/^jobs\[1\]: Invalid job "other": dataset:/);
    expect(refusal(() => parseJobs({ drift })).message).toMatch(/"jobs" must be an array/);
  });

  it('carries the whole definition in the scheduled message, and reads it back', () => {
    const job = parseJob({ name: 'refresh', schedule: '*/15 * * * *', kind: 'materialize', dataset: 'customers' });
    const message = scheduledJobMessage(job, new Date('2026-03-03T02:15:04Z'));
    expect(JSON.parse(JSON.stringify(message))).toEqual({ job, scheduledTime: '2026-03-03T02:15:04.000Z' });
    expect(readScheduledJob(JSON.parse(JSON.stringify(message)))).toEqual({ job, scheduledTime: '2026-03-03T02:15:04.000Z' });
    expect(() => readScheduledJob({ name: 'refresh' })).toThrow(/Invalid scheduled-jobs message: job:/);
  });
});

describe('job runs', () => {
  const job = parseJob({ name: 'nightly', schedule: '0 2 * * *', kind: 'drift' });
  const wanted = { id: 'nightly@2026-03-03T02:00:00Z', definition: job, scheduledTime: '2026-03-03T02:00:00.000Z' };
  const now = new Date('2026-03-03T02:01:00Z');
  const stored = (fields: Partial<JobRun>): JobRun => ({ ...claimRun(undefined, wanted, new Date('2026-03-03T02:00:30Z'), 1000).run, ...fields });

  it('names a run by job and minute, whatever second the firing was noticed in', () => {
    expect(jobRunId('nightly', new Date('2026-03-03T02:00:59.999Z'))).toBe('nightly@2026-03-03T02:00:00Z');
    expect(jobRunId('nightly', new Date('2026-03-03T02:00:00Z'))).toBe(jobRunId('nightly', new Date('2026-03-03T02:00:31Z')));
    expect(jobRunId('nightly', new Date('2026-03-03T02:01:00Z'))).not.toBe(jobRunId('nightly', new Date('2026-03-03T02:00:31Z')));
  });

  it('claims a new or failed run, leaves a succeeded one, and waits for a running one until its lease has passed', () => {
    expect(claimRun(undefined, wanted, now, 60_000)).toMatchObject({
      state: 'claimed',
      run: { status: 'running', attempts: 1, job: 'nightly', kind: 'drift' },
    });
    expect(claimRun(stored({ status: 'failed' }), wanted, now, 60_000)).toMatchObject({ state: 'claimed', run: { attempts: 2, startedAt: now.toISOString() } });
    expect(claimRun(stored({ status: 'succeeded' }), wanted, now, 60_000).state).toBe('done');
    expect(claimRun(stored({ status: 'running' }), wanted, now, 60_000).state).toBe('busy');
    expect(claimRun(stored({ status: 'running' }), wanted, now, 30_000)).toMatchObject({ state: 'claimed', run: { attempts: 2 } });
  });

  it('finds the next minute a schedule fires, after the given time', () => {
    expect(nextRunOf('0 2 * * *', new Date('2026-03-03T02:00:00Z'))).toEqual(new Date('2026-03-04T02:00:00Z'));
    expect(nextRunOf('0 2 * * *', new Date('2026-03-03T01:59:59Z'))).toEqual(new Date('2026-03-03T02:00:00Z'));
    // 2026-03-02 is a Monday.
    expect(nextRunOf('0 3 * * 1', new Date('2026-03-02T03:00:00Z'))).toEqual(new Date('2026-03-09T03:00:00Z'));
    expect(nextRunOf('0 0 29 2 *', new Date('2026-03-01T00:00:00Z'))).toBeUndefined();
  });
});
