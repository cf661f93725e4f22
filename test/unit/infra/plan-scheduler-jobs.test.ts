import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDeployConfig } from '../../../infra/deploy-config.js';
import { planDeployment } from '../../../infra/plan.js';
import { declaredJobSpec } from '../../../infra/plan-scheduler.js';
import type { ApiCall, Step } from '../../../infra/plan-steps.js';
import { FUNCTIONS, STACK, SUBSCRIPTIONS } from '../../../infra/stack.js';
import { planTeardown } from '../../../infra/teardown.js';
import { readScheduledJob } from '../../../shared/domain/jobs.js';
import { TOPICS } from '../../../shared/domain/topics.js';
import { ACME_CONFIG } from '../../support/deploy-config.js';

const example = JSON.parse(readFileSync('mlops.deploy.json', 'utf8')) as { jobs: unknown[] };
const config = parseDeployConfig({ ...ACME_CONFIG, jobs: example.jobs });
const plan = planDeployment(STACK, config);
const declared = (steps: Step[]) => steps.filter((step) => step.kind === 'scheduler-job' && step.name.startsWith('job-'));

describe('declared jobs in the deployment plan', () => {
  it("mlops.deploy.json's example jobs pass validation: a nightly batch score, a daily report, a weekly retrain", () => {
    expect(config.jobs.map((job) => [job.name, job.kind, job.schedule])).toEqual([
      ['nightly-churn-score', 'batch-score', '0 2 * * *'],
      ['daily-report', 'report', '0 6 * * *'],
      ['weekly-churn-retrain', 'retrain', '0 3 * * 1'],
    ]);
  });

  it('makes one Cloud Scheduler job per declared job, publishing its whole definition to scheduled-jobs', () => {
    const steps = declared(plan);
    expect(steps.map((step) => step.name)).toEqual(['job-nightly-churn-score', 'job-daily-report', 'job-weekly-churn-retrain']);
    for (const [index, step] of steps.entries()) {
      const body = (step.apply as ApiCall).body as { name: string; description: string; schedule: string; pubsubTarget: { topicName: string; data: string } };
      expect(step.apply).toMatchObject({ api: 'cloudscheduler', method: 'projects.locations.jobs.create' });
      expect(body.name).toBe(`projects/${config.project}/locations/${config.region}/jobs/${step.name}`);
      expect(body.schedule).toBe(config.jobs[index]!.schedule);
      expect(body.pubsubTarget.topicName).toBe(`projects/${config.project}/topics/${TOPICS.scheduledJobs}`);
      const message = JSON.parse(Buffer.from(body.pubsubTarget.data, 'base64').toString('utf8'));
      expect(message).toEqual({ job: config.jobs[index] });
      expect(readScheduledJob(message).job).toEqual(config.jobs[index]);
      expect(body.description).toMatch(new RegExp(`^mlops job ${config.jobs[index]!.name} \\(${config.jobs[index]!.kind}\\)`));
    }
  });

  it('keeps a description within the 500 characters Cloud Scheduler takes', () => {
    const [job] = config.jobs;
    expect(declaredJobSpec({ ...job!, description: 'x'.repeat(500) }).description).toHaveLength(500);
  });

  it('deploys run-job on scheduled-jobs with its subscription, and removes the declared scheduler jobs on teardown', () => {
    const runJob = FUNCTIONS.find((spec) => spec.name === 'run-job');
    expect(runJob?.trigger).toEqual({ type: 'topic', topic: TOPICS.scheduledJobs });
    expect(SUBSCRIPTIONS.find((sub) => sub.function === 'run-job')?.topic).toBe(TOPICS.scheduledJobs);
    expect(plan.some((step) => step.id === 'function:run-job')).toBe(true);
    const teardown = planTeardown(plan).flatMap((step) => step.destroy ?? []);
    for (const step of declared(plan)) {
      expect(teardown).toContainEqual(expect.objectContaining({ method: 'projects.locations.jobs.delete', resource: (step.apply as ApiCall).resource }));
    }
  });

  it('schedules no job when the registry, which run-job belongs to, is switched off', () => {
    const off = parseDeployConfig({ ...ACME_CONFIG, jobs: example.jobs, components: { registry: false } });
    expect(declared(planDeployment(STACK, off))).toEqual([]);
  });

  it('refuses a bad job or two of one name when the config is read, naming the field', () => {
    expect(() => parseDeployConfig({ ...ACME_CONFIG, jobs: [{ name: 'score', schedule: '0 2 * * *', kind: 'batch-score', model: 'churn' }] })).toThrow(
      /a batch-score job needs "dataset"[^\n]*\n {2}→ at jobs\[0\]\.dataset/,
    );
    const report = { name: 'report', schedule: '0 6 * * *', kind: 'report' };
    expect(() => parseDeployConfig({ ...ACME_CONFIG, jobs: [report, report] })).toThrow(/job names must be unique/);
  });
});
