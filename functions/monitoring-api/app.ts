import { Hono } from 'hono';
import { validateModelName } from '../../shared/domain/names.js';
import { requireApiKey } from '../../shared/http/auth.js';
import { notFound, onError } from '../../shared/http/errors.js';
import type { Warehouse } from '../../shared/ports/warehouse.port.js';
import { latestMonitoring } from '../../shared/services/monitoring-report.js';

/** What the monitoring API is built from. */
export interface MonitoringApiOptions {
  warehouse: () => Promise<Warehouse>;
  apiKeyHashes: string[];
}

/** Read-only monitoring results over HTTP, for `mlops drift report` (the local DuckDB file has one writer: this process). */
export function createMonitoringApi({ warehouse, apiKeyHashes }: MonitoringApiOptions): Hono {
  const app = new Hono();
  app.onError(onError);
  app.notFound(notFound());
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.use('/drift/*', requireApiKey(apiKeyHashes));

  app.get('/drift/:model', async (c) => {
    const model = validateModelName(c.req.param('model'));
    return c.json({ model, versions: await latestMonitoring(await warehouse(), model) });
  });
  return app;
}
