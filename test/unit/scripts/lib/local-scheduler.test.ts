import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { scheduledMessages } from '../../../../scripts/lib/local-platform.js';
import { parseJobs, readScheduledJob } from '../../../../shared/domain/jobs.js';
import { TOPICS } from '../../../../shared/domain/topics.js';

// The jobs mlops.deploy.json declares: what `npm start` fires locally, as the deploy's Cloud Scheduler jobs do.
const declared = parseJobs((JSON.parse(readFileSync('mlops.deploy.json', 'utf8')) as { jobs: unknown }).jobs);

describe('the local scheduler fires the declared jobs on their schedules', () => {
  const due = scheduledMessages(declared);
  const names = (at: string) => due(new Date(at)).map((message) => message.name);

  it('publishes a declared job on scheduled-jobs at the minutes its cron names, with its definition and the minute', () => {
    // 2026-12-07 is a Monday: the weekly retrain (0 3 * * 1) fires then, not on the Tuesday.
    expect(names('2026-12-07T02:00:00Z')).toContain('job-nightly-churn-score');
    expect(names('2026-12-07T03:00:00Z')).toContain('job-weekly-churn-retrain');
    expect(names('2026-12-08T03:00:00Z')).not.toContain('job-weekly-churn-retrain');
    expect(names('2026-12-07T02:01:00Z')).not.toContain('job-nightly-churn-score');

    const fired = due(new Date('2026-12-07T02:00:00Z')).find((message) => message.name === 'job-nightly-churn-score')!;
    expect(fired.topic).toBe(TOPICS.scheduledJobs);
    const { job, scheduledTime } = readScheduledJob(fired.message);
    expect(job).toEqual(declared.find((candidate) => candidate.name === 'nightly-churn-score'));
    expect(scheduledTime).toBe('2026-12-07T02:00:00.000Z');
  });

  it("keeps firing infra's own jobs beside them", () => {
    const topOfHour = due(new Date('2026-12-07T05:00:00Z'));
    expect(topOfHour.map((message) => message.name)).toEqual(expect.arrayContaining(['monitor-hourly', 'rollout-analysis']));
    expect(topOfHour.find((message) => message.name === 'monitor-hourly')).toMatchObject({ topic: TOPICS.monitorSchedule, message: { trigger: 'schedule' } });
    expect(names('2026-12-07T05:07:00Z')).toEqual(['rollout-analysis']);
  });
});
