import { join } from 'node:path';
import { parseServingTarget } from '../../shared/config/config.js';
import { onlineDatasetOf } from '../../shared/domain/online-features.js';
import type { ModelVersion } from '../../shared/domain/registry.js';
import type { OnlineFeatureReader } from '../../shared/ports/online-feature-store.port.js';
import { log } from '../../shared/runtime/logger.js';
import type { Platform } from '../../shared/runtime/platform.js';
import { PredictionLog } from '../../shared/services/prediction-log.js';
import { loadServingModel } from '../../shared/services/serving-model.js';
import { type ServingApp, createServingApp } from './app.js';
import { ColdStartClock } from './cold-start-timeline.js';
import { parseRolloutSettings } from './rollout-settings.js';

/** A booted serving revision: its app (see ServingApp) and the version it serves. */
export interface ServingRevision extends ServingApp {
  version: ModelVersion;
  /** Flushes the prediction log and releases the model; call on SIGTERM. */
  shutdown(): Promise<void>;
}

/** What a serving revision is booted with besides the platform. */
export interface BootServingOptions {
  /** Builds the reader of a version's online features (features.online=<dataset>); only called for a tagged version. The platform's by default. */
  onlineFeatureReader?: () => Promise<OnlineFeatureReader>;
}

/** Cold start of a serving revision: load the pinned version once, then build the app around it. */
export async function bootServing(
  platform: Platform,
  env: NodeJS.ProcessEnv = process.env,
  { onlineFeatureReader = () => platform.onlineFeatureReader() }: BootServingOptions = {},
): Promise<ServingRevision> {
  const started = performance.now();
  const clock = new ColdStartClock();
  clock.mark('modulesLoaded');
  const { config } = platform;
  const target = parseServingTarget(env);
  // Read before the model loads: a deployer's mistake in them stops the start at once.
  const rollout = parseRolloutSettings(env);
  // onnxruntime loads while the registry read waits on the network; only the session build needs it.
  const runner = platform.modelRunner();
  runner.catch(() => undefined); // a failed registry read ends the start first; a failed import surfaces at the session build
  const [registry, artifacts] = await Promise.all([platform.registryReader(), platform.artifacts()]);
  const { version, loaded, bytes } = await loadServingModel(target, {
    registry: clock.registry(registry),
    artifacts,
    runner: clock.runner(runner),
    cacheDir: join(config.dataDir, 'model-cache'),
  });
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
  // Only a version that looks features up builds the reader: no other revision pays for it at start.
  const onlineFeatures = onlineDatasetOf(version.tags) !== undefined ? await onlineFeatureReader() : undefined;
  const predictionLog = new PredictionLog({
    bus: () => platform.eventBus(),
    maxBufferedBytes: config.serving.predictionLogBufferBytes,
    onNotice: ({ level, message, ...details }) => log(level, message, { model: version.model, version: version.version, ...details }),
  });
  const serving = createServingApp({
    version,
    loaded,
    bytes,
    artifacts,
    predictionLog,
    apiKeyHashes: config.serving.apiKeyHashes,
    maxBatch: config.serving.maxBatch,
    maxBodyBytes: config.serving.maxBodyBytes,
    projectId: config.projectId,
    batching: config.serving.batching,
    rollout,
    onlineFeatures,
  });
  clock.mark('appBuilt');
  log('INFO', `serving ${version.model} version ${version.version} (cold start ${(performance.now() - started).toFixed(0)} ms)`, {
    model: version.model,
    version: version.version,
    coldStart: clock.timeline,
    ...(rollout.role === 'shadow' || rollout.shadow || rollout.split ? { rollout } : {}),
  });
  return {
    ...serving,
    version,
    shutdown: async () => {
      await predictionLog.flush();
      await loaded.close();
      await platform.close();
    },
  };
}
