import type { RetrainConfig } from '../config/retrain-config.js';
import type { TableNamer } from '../domain/retrain.js';
import type { RetrainTarget } from '../ports/retrain-target.port.js';
import { commandTarget, webhookTarget } from '../services/retrain-targets.js';
import { log } from './logger.js';
import type { Platform } from './platform.js';

/** How a retrain request's window query names tables: `project.dataset.table` on BigQuery, `"dataset"."table"` in DuckDB. */
export function retrainTableNamer({ config }: Platform): TableNamer {
  const { warehouse } = config;
  if (warehouse.type === 'bigquery') return (table) => `\`${config.projectId}.${warehouse.dataset}.${table}\``;
  return (table) => `"${warehouse.dataset}"."${table}"`;
}

/** The targets the configuration names; the Cloud Run client loads only when a job is configured. */
export async function retrainTargets(config: RetrainConfig): Promise<RetrainTarget[]> {
  const targets: RetrainTarget[] = [];
  if (config.webhook) targets.push(webhookTarget(config.webhook));
  if (config.job) {
    const { CloudRunJobTarget } = await import('../adapters/cloud-run/index.js');
    targets.push(new CloudRunJobTarget({ job: config.job }));
  }
  if (config.command) {
    targets.push(
      commandTarget({
        ...config.command,
        onOutput: ({ code, stdout, stderr }) =>
          log(code === 0 ? 'INFO' : 'WARNING', `retrain command exited with ${code}`, {
            function: 'deliver-retrain',
            stdout: stdout.slice(-4000),
            stderr: stderr.slice(-4000),
          }),
      }),
    );
  }
  return targets;
}
