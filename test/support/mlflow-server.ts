import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';
import { addMlflowRoutes } from '../../functions/tracking/mlflow/mlflow-api.js';
import type { MlflowDeps } from '../../functions/tracking/mlflow/protocol.js';
import { hashApiKey } from '../../shared/http/auth.js';

/** MLflow's routes on a real HTTP server on a free loopback port, requiring `key` as the Bearer token. */
export interface MlflowServer {
  base: string;
  close(): Promise<void>;
}

/** Serves the tracking function's MLflow routes over `deps`, as the function mounts them. */
export async function serveMlflowRoutes(deps: MlflowDeps, key: string): Promise<MlflowServer> {
  const app = new Hono();
  addMlflowRoutes(app, deps, [hashApiKey(key)]);
  const server = await new Promise<ServerType>((resolve) => {
    const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started));
  });
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
