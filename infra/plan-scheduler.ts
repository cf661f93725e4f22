import { parseCron } from '../shared/domain/cron.js';
import { type JobDefinition, scheduledJobMessage, schedulerJobNameOf } from '../shared/domain/jobs.js';
import { TOPICS } from '../shared/domain/topics.js';
import type { DeployConfig } from './deploy-config.js';
import { apiCall, type Step } from './plan-steps.js';
import type { SchedulerJobSpec } from './stack.js';

/** A job's cron schedule: the config's override, else infra/'s; validated so a typo fails at plan time. */
export function scheduleOf(job: SchedulerJobSpec, config: DeployConfig): string {
  const schedule = config.schedules[job.name] ?? job.schedule;
  parseCron(schedule);
  return schedule;
}

// The Job resource's description "must not contain more than 500 characters"
// (https://cloud.google.com/python/docs/reference/cloudscheduler/2.4.0/google.cloud.scheduler_v1beta1.types.Job).
const MAX_DESCRIPTION = 500;

/**
 * The scheduler job of a job declared in mlops.deploy.json: it publishes the whole definition to scheduled-jobs,
 * so run-job needs no copy of the configuration. It belongs to the registry, as run-job does.
 */
export function declaredJobSpec(job: JobDefinition): SchedulerJobSpec {
  const description = `mlops job ${job.name} (${job.kind})${job.description ? `: ${job.description}` : ''}`;
  return {
    name: schedulerJobNameOf(job),
    schedule: job.schedule,
    topic: TOPICS.scheduledJobs,
    message: scheduledJobMessage(job),
    component: 'registry',
    description: description.length > MAX_DESCRIPTION ? `${description.slice(0, MAX_DESCRIPTION - 1)}…` : description,
  };
}

/** The Cloud Scheduler v1 Job resource publishing the job's fixed message to its topic. */
export function schedulerJob(job: SchedulerJobSpec, config: DeployConfig, schedule: string): Record<string, unknown> {
  return {
    name: `projects/${config.project}/locations/${config.region}/jobs/${job.name}`,
    description: job.description ?? `mlops: publish ${JSON.stringify(job.message)} to ${job.topic}`,
    schedule,
    timeZone: config.scheduleTimeZone,
    pubsubTarget: { topicName: `projects/${config.project}/topics/${job.topic}`, data: Buffer.from(JSON.stringify(job.message)).toString('base64') },
  };
}

/** One scheduler job through @google-cloud/scheduler: created when missing, updated when its schedule or target differ. */
export function schedulerSteps(job: SchedulerJobSpec, config: DeployConfig, schedule: string): Step[] {
  const resource = schedulerJob(job, config, schedule);
  const name = resource.name as string;
  const { description: _description, name: _name, ...wanted } = resource;
  return [
    {
      id: `scheduler-job:${job.name}`,
      kind: 'scheduler-job',
      name: job.name,
      component: job.component,
      summary: `Scheduler job ${job.name}: "${schedule}" (${config.scheduleTimeZone}) publishes to ${job.topic}`,
      check: { call: apiCall('cloudscheduler', 'projects.locations.jobs.get', name), expect: wanted },
      apply: apiCall('cloudscheduler', 'projects.locations.jobs.create', name, resource),
      update: apiCall('cloudscheduler', 'projects.locations.jobs.patch', name, resource),
      destroy: [apiCall('cloudscheduler', 'projects.locations.jobs.delete', name)],
    },
  ];
}
