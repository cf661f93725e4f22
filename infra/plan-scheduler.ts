import { parseCron } from '../shared/domain/cron.js';
import type { DeployConfig } from './deploy-config.js';
import { apiCall, type Step } from './plan-steps.js';
import type { SchedulerJobSpec } from './stack.js';

/** A job's cron schedule: the config's override, else infra/'s; validated so a typo fails at plan time. */
export function scheduleOf(job: SchedulerJobSpec, config: DeployConfig): string {
  const schedule = config.schedules[job.name] ?? job.schedule;
  parseCron(schedule);
  return schedule;
}

/** The Cloud Scheduler v1 Job resource publishing the job's fixed message to its topic. */
export function schedulerJob(job: SchedulerJobSpec, config: DeployConfig, schedule: string): Record<string, unknown> {
  return {
    name: `projects/${config.project}/locations/${config.region}/jobs/${job.name}`,
    description: `mlops: publish ${JSON.stringify(job.message)} to ${job.topic}`,
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
