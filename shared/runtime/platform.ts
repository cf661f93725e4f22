import { resolve } from 'node:path';
import type { PlatformConfig } from '../config/config.js';
import { bucketNotificationFor } from '../adapters/gcs-notification/index.js';
import type { ArtifactStore, StoredObject } from '../ports/artifact-store.port.js';
import type { EventBus } from '../ports/event-bus.port.js';
import type { LoggedModelStore } from '../ports/logged-model-store.port.js';
import type { OnlineFeatureReader, OnlineFeatureStore } from '../ports/online-feature-store.port.js';
import type { JobRunStore } from '../ports/job-run-store.port.js';
import type { RetrainStore } from '../ports/retrain-store.port.js';
import type { WebhookStore } from '../ports/webhook-store.port.js';
import type { ModelRegistry } from '../ports/model-registry.port.js';
import type { ModelRunner } from '../ports/model-runner.port.js';
import type { ServingDeployer } from '../ports/serving-deployer.port.js';
import type { TrackingStore } from '../ports/tracking-store.port.js';
import type { Warehouse } from '../ports/warehouse.port.js';
import { LazyEventBus } from './lazy-event-bus.js';
import { log } from './logger.js';

/** The adapters of one process, each built on first use from the configuration. */
export interface Platform {
  readonly config: PlatformConfig;
  eventBus(): EventBus;
  registry(): Promise<ModelRegistry>;
  /**
   * The registry for a process that reads a model or a version as it starts (a serving revision): those
   * reads go over Firestore's REST API where it needs no SDK to authenticate (the emulator; Cloud Run
   * through its metadata server), so the Firestore client loads only if anything else is asked of it.
   */
  registryReader(): Promise<ModelRegistry>;
  artifacts(): Promise<ArtifactStore>;
  warehouse(): Promise<Warehouse>;
  modelRunner(): Promise<ModelRunner>;
  servingDeployer(): Promise<ServingDeployer>;
  /** Experiment tracking: runs, params, metrics (Firestore, beside the registry). */
  trackingStore(): Promise<TrackingStore>;
  /** MLflow 3's logged models and what each run produced and used (Firestore, beside tracking). */
  loggedModels(): Promise<LoggedModelStore>;
  /** Webhook subscriptions and their deliveries (Firestore, beside the registry). */
  webhooks(): Promise<WebhookStore>;
  /** Retrain episodes and deliveries: one request per model per episode, each target delivered once (Firestore). */
  retrainStore(): Promise<RetrainStore>;
  /** Runs of the declared jobs (mlops.deploy.json `jobs`): one record per job and scheduled minute (Firestore). */
  jobRuns(): Promise<JobRunStore>;
  /** Online features as `materialize` writes them: one Firestore document per entity, through the SDK. */
  onlineFeatureStore(): Promise<OnlineFeatureStore>;
  /** Online features as a serving revision reads them: one REST batchGet a request, no Firestore SDK loaded. */
  onlineFeatureReader(): Promise<OnlineFeatureReader>;
  /**
   * The rows of a Parquet file on this machine as JSON-ready objects, row group by row group: the
   * client's conversion (the CLI's `features load`) with an embedded DuckDB, whichever warehouse is configured.
   */
  parquetRows(file: string): AsyncIterable<Record<string, unknown>>;
  /** Flushes and closes whatever was built. */
  close(): Promise<void>;
}

type Factory<C, T> = (config: C, platform: Platform) => Promise<T>;

// Backends vary per port, chosen by the config's `type`; adapters load only when chosen, so a
// function never pays for an SDK it does not use.
const ARTIFACT_STORES: { [K in PlatformConfig['artifacts']['type']]: Factory<Extract<PlatformConfig['artifacts'], { type: K }>, ArtifactStore> } = {
  local: async ({ root, bucket }, platform) => {
    const { LocalBucketArtifactStore } = await import('../adapters/local-bucket/index.js');
    return new LocalBucketArtifactStore({ root, bucket, onFinalize: (object) => notifyFinalize(platform, object) });
  },
  gcs: async ({ bucket }) => {
    const { GcsArtifactStore } = await import('../adapters/gcs/index.js');
    return new GcsArtifactStore({ bucket });
  },
};

const WAREHOUSES: { [K in PlatformConfig['warehouse']['type']]: Factory<Extract<PlatformConfig['warehouse'], { type: K }>, Warehouse> } = {
  duckdb: async ({ path, dataset, memoryLimit }) => {
    const { DuckDbWarehouse } = await import('../adapters/duckdb/index.js');
    return new DuckDbWarehouse({ path, dataset, memoryLimit });
  },
  bigquery: async ({ dataset, location }, platform) => {
    const { BigQueryWarehouse } = await import('../adapters/bigquery/index.js');
    return new BigQueryWarehouse({ projectId: platform.config.projectId, dataset, location });
  },
};

const SERVING_DEPLOYERS: Record<PlatformConfig['serving']['deployer'], Factory<PlatformConfig, ServingDeployer>> = {
  local: async (_config, platform) => {
    const { LocalServingDeployer } = await import('../adapters/local-serving/index.js');
    // A model keeps its local URL across restarts when that port is still free.
    const preferredPort = async (model: string) => {
      const url = (await (await platform.registry()).getModel(model))?.serving?.url;
      return url ? Number(new URL(url).port) : undefined;
    };
    return new LocalServingDeployer({ projectRoot: resolve(import.meta.dirname, '../..'), env: process.env, preferredPort });
  },
  'cloud-run': async (config) => {
    const { CloudRunServingDeployer } = await import('../adapters/cloud-run/index.js');
    return new CloudRunServingDeployer({ projectId: config.projectId, region: config.region });
  },
};

/** True on Cloud Run and Cloud Functions, whose metadata server hands out the instance's access token. */
function onGoogleServerless(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.K_SERVICE);
}

/** The local bucket notifies as GCS does: only for objects under the notification's prefix. */
async function notifyFinalize(platform: Platform, object: StoredObject): Promise<void> {
  const notification = bucketNotificationFor(object);
  if (notification) await platform.eventBus().publish(notification.topic, notification.data, notification.attributes);
}

/** Builds the composition root for a configuration. Nothing connects until first used. */
export function createPlatform(config: PlatformConfig): Platform {
  const built: { close(): Promise<void> }[] = [];
  const once = <T extends object>(make: () => Promise<T>): (() => Promise<T>) => {
    let value: Promise<T> | undefined;
    return () =>
      (value ??= make().then((made) => {
        if ('close' in made) built.push(made as T & { close(): Promise<void> });
        return made;
      }));
  };
  let bus: EventBus | undefined;
  const platform: Platform = {
    config,
    eventBus: () => {
      if (!bus) {
        // Pub/Sub loads on the first publish: a serving revision answers its first request before that.
        bus = new LazyEventBus(async () => {
          const { PubSubEventBus } = await import('../adapters/pubsub/index.js');
          return new PubSubEventBus({ projectId: config.projectId });
        });
        built.push(bus);
      }
      return bus;
    },
    registry: once(async () => {
      const { FirestoreModelRegistry } = await import('../adapters/firestore/index.js');
      return new FirestoreModelRegistry({ projectId: config.projectId, databaseId: config.registry.databaseId });
    }),
    registryReader: once(async () => {
      const { emulatorHost, databaseId } = config.registry;
      if (!emulatorHost && !onGoogleServerless(process.env)) return platform.registry();
      const { FirestoreRestModelRegistry } = await import('../adapters/firestore-rest/index.js');
      return new FirestoreRestModelRegistry({
        projectId: config.projectId,
        databaseId,
        emulatorHost,
        fallback: () => platform.registry(),
        onFallback: (error) => log('WARNING', `registry read over REST failed, reading through the Firestore client: ${(error as Error).message}`, { error }),
      });
    }),
    artifacts: once(() => (ARTIFACT_STORES[config.artifacts.type] as Factory<PlatformConfig['artifacts'], ArtifactStore>)(config.artifacts, platform)),
    warehouse: once(() => (WAREHOUSES[config.warehouse.type] as Factory<PlatformConfig['warehouse'], Warehouse>)(config.warehouse, platform)),
    modelRunner: once(async () => {
      const { OnnxModelRunner } = await import('../adapters/onnx/index.js');
      return new OnnxModelRunner();
    }),
    servingDeployer: once(() => SERVING_DEPLOYERS[config.serving.deployer](config, platform)),
    trackingStore: once(async () => {
      const { FirestoreTrackingStore } = await import('../adapters/firestore/index.js');
      return new FirestoreTrackingStore({ projectId: config.projectId, databaseId: config.registry.databaseId });
    }),
    loggedModels: once(async () => {
      const { FirestoreLoggedModelStore } = await import('../adapters/firestore/index.js');
      return new FirestoreLoggedModelStore({ projectId: config.projectId, databaseId: config.registry.databaseId });
    }),
    webhooks: once(async () => {
      const { FirestoreWebhookStore } = await import('../adapters/firestore/index.js');
      return new FirestoreWebhookStore({ projectId: config.projectId, databaseId: config.registry.databaseId });
    }),
    retrainStore: once(async () => {
      const { FirestoreRetrainStore } = await import('../adapters/firestore/index.js');
      return new FirestoreRetrainStore({ projectId: config.projectId, databaseId: config.registry.databaseId });
    }),
    jobRuns: once(async () => {
      const { FirestoreJobRunStore } = await import('../adapters/firestore-jobs/index.js');
      return new FirestoreJobRunStore({ projectId: config.projectId, databaseId: config.registry.databaseId });
    }),
    onlineFeatureStore: once(async () => {
      const { FirestoreOnlineFeatureStore } = await import('../adapters/firestore-online/index.js');
      return new FirestoreOnlineFeatureStore({ projectId: config.projectId, databaseId: config.registry.databaseId });
    }),
    onlineFeatureReader: once(async () => {
      const { FirestoreOnlineReader } = await import('../adapters/firestore-online/index.js');
      const { emulatorHost, databaseId } = config.registry;
      return new FirestoreOnlineReader({ projectId: config.projectId, databaseId, emulatorHost });
    }),
    parquetRows: async function* (file) {
      // The DuckDB adapter loads only here; function bundles leave it out.
      const { parquetRows } = await import('../adapters/duckdb/index.js');
      yield* parquetRows(file);
    },
    close: async () => {
      await Promise.allSettled(
        built
          .splice(0)
          .reverse()
          .map((item) => item.close()),
      );
      bus = undefined;
    },
  };
  return platform;
}
