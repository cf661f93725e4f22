import { join } from 'node:path';
import type { Hono } from 'hono';
import { parseServingTarget } from '../../shared/config/config.js';
import type { ModelVersion } from '../../shared/domain/registry.js';
import { log } from '../../shared/runtime/logger.js';
import type { Platform } from '../../shared/runtime/platform.js';
import { PredictionLog } from '../../shared/services/prediction-log.js';
import { loadServingModel } from '../../shared/services/serving-model.js';
import { createServingApp } from './app.js';

/** A booted serving revision. */
export interface ServingRevision {
  app: Hono;
  version: ModelVersion;
  /** Flushes the prediction log and releases the model; call on SIGTERM. */
  shutdown(): Promise<void>;
}

/** Cold start of a serving revision: load the pinned version once, then build the app around it. */
export async function bootServing(platform: Platform, env: NodeJS.ProcessEnv = process.env): Promise<ServingRevision> {
  const started = performance.now();
  const { config } = platform;
  const target = parseServingTarget(env);
  const [registry, artifacts, runner] = await Promise.all([platform.registry(), platform.artifacts(), platform.modelRunner()]);
  const { version, loaded } = await loadServingModel(target, { registry, artifacts, runner, cacheDir: join(config.dataDir, 'model-cache') });
  if (version.served && version.served.sha256 !== loaded.served.sha256) {
    // The derivation (a ZipMap served as its tensor) changed since registration: same upload, newer platform.
    log(
      'WARNING',
      `serving a graph derived differently from the one recorded at registration (sha256 ${loaded.served.sha256}, recorded ${version.served.sha256})`,
      {
        model: version.model,
        version: version.version,
        changes: loaded.served.changes,
      },
    );
  }
  const predictionLog = new PredictionLog({
    bus: () => platform.eventBus(),
    maxBufferedBytes: config.serving.predictionLogBufferBytes,
    onNotice: ({ level, message, ...details }) => log(level, message, { model: version.model, version: version.version, ...details }),
  });
  const app = createServingApp({
    version,
    loaded,
    predictionLog,
    apiKeyHashes: config.serving.apiKeyHashes,
    maxBatch: config.serving.maxBatch,
    maxBodyBytes: config.serving.maxBodyBytes,
    projectId: config.projectId,
  });
  log('INFO', `serving ${version.model} version ${version.version} (cold start ${(performance.now() - started).toFixed(0)} ms)`, {
    model: version.model,
    version: version.version,
  });
  return {
    app,
    version,
    shutdown: async () => {
      await predictionLog.flush();
      await loaded.close();
      await platform.close();
    },
  };
}
