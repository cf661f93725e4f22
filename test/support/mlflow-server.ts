import type { AddressInfo } from 'node:net';
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { type ServerType, serve } from '@hono/node-server';
import { Hono } from 'hono';
import { addMlflowRoutes } from '../../functions/tracking/mlflow/mlflow-api.js';
import type { MlflowDeps } from '../../functions/tracking/mlflow/protocol.js';
import { FirestoreLoggedModelStore, FirestoreModelRegistry, FirestoreTrackingStore } from '../../shared/adapters/firestore/index.js';
import { PubSubEventBus } from '../../shared/adapters/pubsub/index.js';
import { hashApiKey } from '../../shared/http/auth.js';
import type { ArtifactStore } from '../../shared/ports/artifact-store.port.js';

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

/** The MLflow routes' dependencies on the Firestore and Pub/Sub emulators, over one client each, with `artifacts` as the bucket. */
export function emulatorMlflowDeps(projectId: string, artifacts: ArtifactStore) {
  const firestore = new Firestore({ projectId, ignoreUndefinedProperties: true });
  const pubsub = new PubSub({ projectId });
  const tracking = new FirestoreTrackingStore({ projectId, client: firestore });
  const loggedModels = new FirestoreLoggedModelStore({ projectId, client: firestore });
  const deps: MlflowDeps = {
    tracking: async () => tracking,
    artifacts: async () => artifacts,
    registry: async () => new FirestoreModelRegistry({ projectId, client: firestore }),
    loggedModels: async () => loggedModels,
    bus: () => new PubSubEventBus({ projectId, client: pubsub }),
    policy: { requireStaging: false },
  };
  return { tracking, loggedModels, deps, close: async () => void (await Promise.all([firestore.terminate(), pubsub.close()])) };
}
