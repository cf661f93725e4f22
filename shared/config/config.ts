import { join, resolve } from 'node:path';
import {
  boolean,
  list,
  nonNegativeNumber,
  oneOf,
  option,
  PROFILE,
  positiveInteger,
  readOption,
  readProfile,
  requireOption,
  text,
  type Profile,
} from './options.js';
import type { ServingTarget } from '../domain/registry.js';

/** Declared ahead of OPTIONS so the other descriptions can name their variable. */
const dataDir = option({
  env: 'MLOPS_DATA_DIR',
  expects: 'a folder path',
  description: 'folder for local state: the local bucket, the DuckDB warehouse, the endpoints `npm start` writes',
  defaults: { local: '.mlops-data', gcp: '/tmp/mlops' },
  parse: text,
});

const serveAlias = option({
  env: 'MLOPS_SERVE_ALIAS',
  expects: 'an alias resolved at cold start, such as production',
  description: 'the alias each model serves',
  defaults: { local: 'production', gcp: 'production' },
  parse: text,
});

/** Every setting the platform reads, declared once with its variable, expectation, defaults and what it does. */
export const OPTIONS = {
  profile: PROFILE,
  projectId: option({
    env: 'GOOGLE_CLOUD_PROJECT',
    expects: 'a Google Cloud project id',
    description: "the project every Google Cloud client works in (locally, the emulators' project)",
    defaults: { local: 'mlops-local' },
    required: true,
    parse: text,
  }),
  region: option({
    env: 'MLOPS_REGION',
    expects: 'a Google Cloud region such as us-central1',
    description: 'where functions and serving services are deployed',
    defaults: { local: 'us-central1', gcp: 'us-central1' },
    parse: text,
  }),
  dataDir,
  artifacts: option({
    env: 'MLOPS_ARTIFACTS',
    expects: '"local" or "gcs"',
    description: `the artifact store: a folder in \`${dataDir.env}\`, or Cloud Storage`,
    defaults: { local: 'local', gcp: 'gcs' },
    parse: oneOf('local', 'gcs'),
  }),
  bucket: option({
    env: 'MLOPS_BUCKET',
    expects: 'a bucket name (3-63 lowercase letters, digits, - _ .)',
    description: 'the bucket model artifacts are uploaded to',
    defaults: { local: 'mlops-artifacts' },
    required: true,
    parse: (raw: string) => (/^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/.test(raw) ? raw : undefined),
  }),
  warehouse: option({
    env: 'MLOPS_WAREHOUSE',
    expects: '"duckdb" or "bigquery"',
    description: 'the warehouse of predictions, ground truth and drift',
    defaults: { local: 'duckdb', gcp: 'bigquery' },
    parse: oneOf('duckdb', 'bigquery'),
  }),
  duckdbPath: option({
    env: 'MLOPS_DUCKDB_PATH',
    expects: 'a file path',
    description: `the DuckDB warehouse file; unset, \`warehouse.duckdb\` in \`${dataDir.env}\``,
    defaults: {},
    parse: text,
  }),
  duckdbMemoryLimit: option({
    env: 'MLOPS_DUCKDB_MEMORY_LIMIT',
    expects: "a DuckDB memory_limit such as '512MB' or '2GB'",
    description: "DuckDB's `memory_limit`; unset, DuckDB's own default",
    defaults: {},
    parse: (raw: string) => (/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.test(raw.trim()) ? raw.trim() : undefined),
  }),
  dataset: option({
    env: 'MLOPS_BQ_DATASET',
    expects: 'a BigQuery dataset id (letters, digits, _)',
    description: 'the dataset of the warehouse tables (in DuckDB too)',
    defaults: { local: 'mlops', gcp: 'mlops' },
    parse: (raw: string) => (/^\w{1,1024}$/.test(raw) ? raw : undefined),
  }),
  bigqueryLocation: option({
    env: 'MLOPS_BQ_LOCATION',
    expects: 'a BigQuery location such as US or EU',
    description: 'where the BigQuery dataset is created',
    defaults: { local: 'US', gcp: 'US' },
    parse: text,
  }),
  pubsubEmulatorHost: option({
    env: 'PUBSUB_EMULATOR_HOST',
    expects: 'host:port of the Pub/Sub emulator',
    description: "sends Pub/Sub calls to the emulator; unset, locally the CLI and SDK find `npm start`'s",
    defaults: {},
    parse: text,
  }),
  firestoreEmulatorHost: option({
    env: 'FIRESTORE_EMULATOR_HOST',
    expects: 'host:port of the Firestore emulator',
    description: "sends Firestore calls to the emulator; unset, locally the CLI and SDK find `npm start`'s",
    defaults: {},
    parse: text,
  }),
  firestoreDatabase: option({
    env: 'MLOPS_FIRESTORE_DATABASE',
    expects: 'a Firestore database id',
    description: 'the Firestore database of the registry and of tracking',
    defaults: { local: '(default)', gcp: '(default)' },
    parse: text,
  }),
  requireStaging: option({
    env: 'MLOPS_REQUIRE_STAGING',
    expects: 'true or false',
    description: 'a version must hold `staging` before `production`',
    defaults: { local: 'false', gcp: 'false' },
    parse: boolean,
  }),
  apiKeyHashes: option({
    env: 'MLOPS_API_KEY_HASHES',
    expects: 'comma-separated sha256 hex digests of API keys',
    description: 'when set, the APIs and serving require one of these keys',
    defaults: { local: '', gcp: '' },
    parse: (raw: string) => {
      const hashes = list(raw);
      return hashes.every((hash) => /^[0-9a-f]{64}$/.test(hash)) ? hashes : undefined;
    },
  }),
  maxBatch: option({
    env: 'MLOPS_MAX_BATCH',
    expects: 'a positive integer',
    description: 'most rows one prediction request may hold',
    defaults: { local: '1000', gcp: '1000' },
    parse: positiveInteger,
  }),
  maxBodyBytes: option({
    env: 'MLOPS_MAX_BODY_BYTES',
    expects: 'a positive integer (bytes)',
    description: 'largest body a prediction request may have; a larger one is refused',
    defaults: { local: '1048576', gcp: '1048576' },
    parse: positiveInteger,
  }),
  predictionLogBufferMb: option({
    env: 'MLOPS_PREDICTION_LOG_BUFFER_MB',
    expects: 'a positive integer (MiB)',
    description: 'MiB a serving instance holds unpublished predictions in (retried until Pub/Sub takes them; only the excess is dropped, and logged)',
    defaults: { local: '128', gcp: '128' },
    parse: positiveInteger,
  }),
  servingBatching: option({
    env: 'MLOPS_SERVING_BATCHING',
    expects: 'true or false',
    description: 'coalesces concurrent prediction requests into one model run (each gets its own rows back); `false` runs every request alone',
    defaults: { local: 'true', gcp: 'true' },
    parse: boolean,
  }),
  servingBatchMaxRows: option({
    env: 'MLOPS_SERVING_BATCH_MAX_ROWS',
    expects: 'a positive integer',
    description: 'most rows one coalesced model run takes; a request this large runs alone',
    defaults: { local: '256', gcp: '256' },
    parse: positiveInteger,
  }),
  servingBatchWaitMs: option({
    env: 'MLOPS_SERVING_BATCH_WAIT_MS',
    expects: 'a number of milliseconds, 0 or more',
    description:
      'longest a prediction request waits for others to join its model run, taken only under concurrent load; 0 coalesces only requests already waiting, adding no latency',
    defaults: { local: '0', gcp: '0' },
    parse: nonNegativeNumber,
  }),
  serveModel: option({
    env: 'MLOPS_SERVE_MODEL',
    expects: 'the name of the model this serving revision serves',
    description: 'the model a serving revision serves (the serving deployer sets it on each revision)',
    defaults: {},
    required: true,
    parse: text,
  }),
  serveVersion: option({
    env: 'MLOPS_SERVE_VERSION',
    expects: 'a version number',
    description: `the version a serving revision is pinned to (set by the deployer); unset, \`${serveAlias.env}\` is resolved`,
    defaults: {},
    parse: positiveInteger,
  }),
  servingDeployer: option({
    env: 'MLOPS_SERVING_DEPLOYER',
    expects: '"local" or "cloud-run"',
    description: 'how promotions roll out serving: revision processes here, or Cloud Run services',
    defaults: { local: 'local', gcp: 'cloud-run' },
    parse: oneOf('local', 'cloud-run'),
  }),
  serveAlias,
  logLevel: option({
    env: 'MLOPS_LOG_LEVEL',
    expects: '"silent", or anything else',
    description: '`silent` turns off the structured log lines; any other value, or none, writes them',
    defaults: {},
    parse: (raw: string) => raw,
  }),
} as const;

/** The typed configuration of one process. Each port names its backend with `type`. */
export interface PlatformConfig {
  profile: Profile;
  projectId: string;
  region: string;
  dataDir: string;
  eventBus: { type: 'pubsub'; emulatorHost?: string };
  registry: { type: 'firestore'; emulatorHost?: string; databaseId: string };
  artifacts: { type: 'local'; bucket: string; root: string } | { type: 'gcs'; bucket: string };
  warehouse: { type: 'duckdb'; path: string; dataset: string; memoryLimit?: string } | { type: 'bigquery'; dataset: string; location: string };
  promotion: { requireStaging: boolean };
  serving: {
    apiKeyHashes: string[];
    maxBatch: number;
    maxBodyBytes: number;
    deployer: 'local' | 'cloud-run';
    alias: string;
    /** Memory budget of the prediction log's buffer, in bytes. */
    predictionLogBufferBytes: number;
    /** How concurrent requests are coalesced into one model run. */
    batching: { enabled: boolean; maxRows: number; maxWaitMs: number };
  };
}

/** What one serving revision is pinned to: a version, or an alias resolved at cold start. */

type Env = Record<string, string | undefined>;

/**
 * Parses the environment into a PlatformConfig, once, at start-up. Pure: tests pass their own env.
 * Throws CONFIG.INVALID naming the variable and what it expects.
 */
export function parseConfig(env: Env): PlatformConfig {
  const profile = readProfile(env);
  const read = <T>(spec: Parameters<typeof readOption<T>>[0]) => readOption(spec, env, profile);
  const need = <T>(spec: Parameters<typeof requireOption<T>>[0], why: string) => requireOption(spec, env, profile, why);

  const dataDir = resolve(need(OPTIONS.dataDir, 'local state lives there'));
  const bucket = need(OPTIONS.bucket, 'model artifacts are stored there');
  const dataset = need(OPTIONS.dataset, 'the warehouse tables live there');
  const artifactsType = need(OPTIONS.artifacts, 'it selects the artifact store');
  const warehouseType = need(OPTIONS.warehouse, 'it selects the warehouse');

  return {
    profile,
    projectId: need(OPTIONS.projectId, 'every Google Cloud client needs a project'),
    region: need(OPTIONS.region, 'functions and services are deployed there'),
    dataDir,
    eventBus: { type: 'pubsub', emulatorHost: read(OPTIONS.pubsubEmulatorHost) },
    registry: { type: 'firestore', emulatorHost: read(OPTIONS.firestoreEmulatorHost), databaseId: need(OPTIONS.firestoreDatabase, 'the registry lives there') },
    artifacts: artifactsType === 'local' ? { type: 'local', bucket, root: join(dataDir, 'bucket') } : { type: 'gcs', bucket },
    warehouse:
      warehouseType === 'duckdb'
        ? {
            type: 'duckdb',
            dataset,
            path: resolve(read(OPTIONS.duckdbPath) ?? join(dataDir, 'warehouse.duckdb')),
            memoryLimit: read(OPTIONS.duckdbMemoryLimit),
          }
        : { type: 'bigquery', dataset, location: need(OPTIONS.bigqueryLocation, 'the dataset is created there') },
    promotion: { requireStaging: need(OPTIONS.requireStaging, 'it sets the promotion policy') },
    serving: {
      apiKeyHashes: need(OPTIONS.apiKeyHashes, 'it sets serving access'),
      maxBatch: need(OPTIONS.maxBatch, 'it bounds a request'),
      maxBodyBytes: need(OPTIONS.maxBodyBytes, 'it bounds a request body'),
      deployer: need(OPTIONS.servingDeployer, 'it selects how serving revisions roll out'),
      alias: need(OPTIONS.serveAlias, 'the alias each model serves'),
      predictionLogBufferBytes: need(OPTIONS.predictionLogBufferMb, 'it bounds the prediction log') * 1024 * 1024,
      batching: {
        enabled: need(OPTIONS.servingBatching, 'it turns request coalescing on or off'),
        maxRows: need(OPTIONS.servingBatchMaxRows, 'it bounds a coalesced run'),
        maxWaitMs: need(OPTIONS.servingBatchWaitMs, 'it bounds the wait of a coalesced request'),
      },
    },
  };
}

/** Reads a serving revision's pin; only the serve function needs it, so it is parsed apart. */
export function parseServingTarget(env: Env): ServingTarget {
  const profile = readProfile(env);
  const model = requireOption(OPTIONS.serveModel, env, profile, 'a serving revision serves one model');
  const version = readOption(OPTIONS.serveVersion, env, profile);
  if (version !== undefined) return { model, version };
  return { model, alias: requireOption(OPTIONS.serveAlias, env, profile, 'without a version, the alias to resolve') };
}
