import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { requireApiKey } from '../../../shared/http/auth.js';
import { log } from '../../../shared/runtime/logger.js';
import { addArtifactRoutes } from './artifact-routes.js';
import { addLoggedModelRoutes } from './logged-model-routes.js';
import { MLFLOW_API, MLFLOW_ARTIFACTS_API, MlflowError, type MlflowDeps, mlflowErrorResponse } from './protocol.js';
import { addRegistryRoutes } from './registry-routes.js';
import { addTrackingRoutes } from './tracking-routes.js';

/** Every path MLflow's clients call under (3.x sends tracing calls to /api/3.0 first); an unknown one is ENDPOINT_NOT_FOUND. */
const API_ROOTS = ['/api/2.0', '/api/3.0'];

/**
 * Adds every MLflow route to the tracking app: the same API keys (`Authorization: Bearer`, which
 * MLFLOW_TRACKING_TOKEN sends), MLflow-shaped errors, and ENDPOINT_NOT_FOUND 404 for an unknown
 * path under /api/2.0/ or /api/3.0/ (MLflow 3's client takes that as a server without the endpoint, and falls back).
 *
 * The routes live on a sub-app with its own error handler, mounted on the tracking app, so every
 * error thrown by them (or by the key check) answers as MLflow's server does while the native
 * routes keep theirs.
 */
export function addMlflowRoutes(app: Hono, deps: MlflowDeps, apiKeyHashes: string[]): void {
  const mlflow = new Hono();
  mlflow.onError((error, c) => {
    const { status, body } = mlflowErrorResponse(error);
    if (status >= 500)
      log('ERROR', `${c.req.method} ${c.req.path} answered ${status}: ${(error as Error)?.message ?? String(error)}`, { status, code: body.error_code, error });
    return c.json(body, status as ContentfulStatusCode);
  });
  for (const root of API_ROOTS) mlflow.use(`${root}/*`, requireApiKey(apiKeyHashes));
  addTrackingRoutes(mlflow, deps);
  addArtifactRoutes(mlflow, deps);
  addRegistryRoutes(mlflow, deps);
  addLoggedModelRoutes(mlflow, deps);
  for (const root of API_ROOTS) {
    mlflow.all(`${root}/*`, (c) => {
      throw new MlflowError(
        'ENDPOINT_NOT_FOUND',
        `No MLflow endpoint ${c.req.method} ${c.req.path}: this server implements the tracking, artifact (${MLFLOW_ARTIFACTS_API}) and model registry calls under ${MLFLOW_API}.`,
      );
    });
  }
  app.route('/', mlflow);
}
