import { Hono } from 'hono';
import { PlatformError } from '../../shared/domain/errors.js';
import { validateModelName } from '../../shared/domain/names.js';
import { taskOf } from '../../shared/domain/registry.js';
import { requireApiKey } from '../../shared/http/auth.js';
import { notFound, onError } from '../../shared/http/errors.js';
import type { ModelRegistry } from '../../shared/ports/model-registry.port.js';
import type { Warehouse } from '../../shared/ports/warehouse.port.js';
import { latestMonitoring } from '../../shared/services/monitoring-report.js';
import { compareRollout, type RolloutComparison } from '../../shared/services/rollout-comparison.js';

/** What the monitoring API is built from. */
export interface MonitoringApiOptions {
  warehouse: () => Promise<Warehouse>;
  apiKeyHashes: string[];
  /** Where rollouts are read, for the comparison route; without it that route answers 500 CONFIG.INVALID. */
  registry?: () => Promise<ModelRegistry>;
}

/** Read-only monitoring results over HTTP, for `mlops drift report` and `mlops rollout compare` (the local DuckDB file has one writer: this process). */
export function createMonitoringApi({ warehouse, apiKeyHashes, registry }: MonitoringApiOptions): Hono {
  const app = new Hono();
  app.onError(onError);
  app.notFound(notFound());
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.use('/drift/*', requireApiKey(apiKeyHashes));
  app.use('/models/*', requireApiKey(apiKeyHashes));

  app.get('/drift/:model', async (c) => {
    const model = validateModelName(c.req.param('model'));
    return c.json({ model, versions: await latestMonitoring(await warehouse(), model) });
  });

  // The rollout named by ?rollout=<id>, else the model's active one, else its latest.
  app.get('/models/:name/rollouts/compare', async (c) => {
    const model = validateModelName(c.req.param('name'));
    if (!registry) throw new PlatformError('CONFIG.INVALID', 'This monitoring API was built without a registry: rollouts cannot be compared.');
    return c.json(await comparisonOf(await registry(), await warehouse(), model, c.req.query('rollout') || undefined));
  });
  return app;
}

async function comparisonOf(registry: ModelRegistry, warehouse: Warehouse, model: string, id: string | undefined): Promise<RolloutComparison> {
  const rollout = await registry.getRollout(model, id);
  if (!rollout) {
    const which = id === undefined ? 'no rollout' : `no rollout ${id}`;
    throw new PlatformError('ROLLOUT.NOT_FOUND', `Model "${model}" has ${which}. See its rollout with: mlops rollout status ${model}`);
  }
  const version = await registry.getVersion(model, rollout.candidate);
  if (!version) throw new PlatformError('REGISTRY.VERSION_NOT_FOUND', `Model "${model}" has no version ${rollout.candidate}, the rollout's candidate.`);
  return compareRollout(warehouse, rollout, taskOf(version));
}
