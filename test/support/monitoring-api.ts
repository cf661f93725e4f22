import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { createMonitoringApi } from '../../functions/monitoring-api/app.js';
import type { Warehouse } from '../../shared/ports/warehouse.port.js';

/**
 * The real monitoring API over a warehouse on a loopback port, with the CLI pointed at it
 * (MLOPS_MONITORING_API_URL, and MLOPS_DATA_DIR for its local discovery); `stop` closes it and puts
 * both variables back as they were.
 */
export async function serveMonitoringApi(warehouse: Warehouse, dataDir: string): Promise<{ stop(): void }> {
  const saved = { MLOPS_MONITORING_API_URL: process.env.MLOPS_MONITORING_API_URL, MLOPS_DATA_DIR: process.env.MLOPS_DATA_DIR };
  const app = createMonitoringApi({ warehouse: async () => warehouse, apiKeyHashes: [] });
  const server = await new Promise<ServerType>((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started));
  });
  process.env.MLOPS_MONITORING_API_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.MLOPS_DATA_DIR = dataDir;
  return {
    stop: () => {
      server.close();
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    },
  };
}
