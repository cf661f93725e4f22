import { join } from 'node:path';
import * as ff from '@google-cloud/functions-framework';
import { ENV } from '../../shared/config/env.js';
import { parseJob, ScheduledJobMessage } from '../../shared/domain/jobs.js';
import type { TableNamer } from '../../shared/domain/retrain.js';
import { TOPICS } from '../../shared/domain/topics.js';
import { log, type Platform, platform, topicHandler } from '../../shared/runtime/index.js';
import { runJob } from '../../shared/services/run-job.js';

/** How a retrain request's window query names a table so a training job can run it as it is: `project.dataset.table` on BigQuery. */
function tablesOf({ projectId, warehouse }: Platform['config']): TableNamer {
  return warehouse.type === 'bigquery' ? (table) => `\`${projectId}.${warehouse.dataset}.${table}\`` : (table) => `"${warehouse.dataset}"."${table}"`;
}

ff.cloudEvent(
  'runJob',
  topicHandler(platform, {
    functionName: 'run-job',
    topic: TOPICS.scheduledJobs,
    schema: ScheduledJobMessage,
    handle: async (message, delivery) => {
      const p = platform();
      const job = parseJob(message.job);
      // Cloud Scheduler sends no time: the publish time stands in for the minute the job fired.
      const scheduledTime = new Date(message.scheduledTime ?? delivery.publishTime ?? Date.now());
      const deps = {
        runs: await p.jobRuns(),
        registry: await p.registry(),
        warehouse: await p.warehouse(),
        artifacts: await p.artifacts(),
        bus: p.eventBus(),
        runner: await p.modelRunner(),
        cacheDir: join(p.config.dataDir, 'model-cache'),
        onlineStore: () => p.onlineFeatureStore(),
        tables: tablesOf(p.config),
        dashboardUrl: process.env[ENV.dashboardUrl],
      };
      const run = await runJob(job, deps, { scheduledTime });
      log('INFO', `job ${job.name} (${job.kind}) run ${run.id}: ${run.status}`, {
        function: 'run-job',
        run: run.id,
        attempts: run.attempts,
        report: run.report,
      });
    },
  }),
);
