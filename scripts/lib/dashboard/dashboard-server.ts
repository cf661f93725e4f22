import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Platform } from '../../../shared/runtime/platform.js';
import { createDashboardApp } from './dashboard-app.js';

/** Where the dashboard listens: port 0 takes any free one. */
export interface DashboardServerOptions {
  platform: Platform;
  port: number;
  /** Take any free port when `port` is in use (another platform or a test already holds it). */
  anyPortIfTaken?: boolean;
  hostname?: string;
}

/** A running dashboard. */
export interface DashboardServer {
  url: string;
  stop(): Promise<void>;
}

/** The dashboard's address showing one model (`?model=<name>`), as the demo prints it for the model it deployed. */
export function modelDashboardUrl(dashboardUrl: string, model: string): string {
  const address = new URL(dashboardUrl);
  address.searchParams.set('model', model);
  return address.toString();
}

/** Serves the dashboard from the runner's own platform, so it reads the DuckDB file the functions write. */
export async function startDashboard({ platform, port, anyPortIfTaken = false, hostname = '127.0.0.1' }: DashboardServerOptions): Promise<DashboardServer> {
  const app = createDashboardApp({
    registry: () => platform.registry(),
    warehouse: () => platform.warehouse(),
    tracking: () => platform.trackingStore(),
    artifacts: () => platform.artifacts(),
  });
  const listen = (on: number) =>
    new Promise<ReturnType<typeof serve>>((resolve, reject) => {
      const started = serve({ fetch: app.fetch, port: on, hostname }, () => resolve(started));
      started.once('error', reject);
    });
  const server = await listen(port).catch((error: NodeJS.ErrnoException) => {
    if (anyPortIfTaken && error.code === 'EADDRINUSE') return listen(0);
    throw error;
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${hostname}:${bound}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
