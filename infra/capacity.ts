import { z } from 'zod';
import { TOPICS } from '../shared/domain/topics.js';
import { DAYS_PER_MONTH, defaultCpuOf, gibOf } from './cost.js';
import type { DeployConfig } from './deploy-config.js';
import { type PriceName, pricesWith } from './prices.js';
import type { Stack } from './plan-steps.js';

const SECONDS_PER_MONTH = DAYS_PER_MONTH * 86_400;
const GIB = 1024 ** 3;
const TIB = 1024 ** 4;
/** Pub/Sub bills at least 1000 bytes a publish, push or pull request (cloud.google.com/pubsub/pricing). */
export const PUBSUB_MIN_BYTES = 1000;
/** Legacy streaming inserts (insertAll) bill at least 1 KB a row (cloud.google.com/bigquery/pricing). */
export const INSERT_ALL_MIN_BYTES = 1024;

/**
 * One serving revision on one core, from BENCHMARKS.md "Serving: POST /predict with prediction logging on"
 * (`npm run bench -- --only serving`, 2026-12-02: wrk, 32 connections, the prediction log publishing).
 */
export const MEASURED_SERVING = {
  measuredOn: '2026-12-02',
  oneRow: { rowsPerRequest: 1, requestsPerSecond: 26_149 },
  batched: { rowsPerRequest: 64, requestsPerSecond: 3_594 },
} as const;

/** What the plan assumes besides the deployment config; each is stated so a reader can disagree with it. */
export const CapacityInputs = z.object({
  predictionsPerSecond: z.number().positive(),
  rowsPerRequest: z.number().int().positive().default(1),
  /** Share of an instance's measured capacity the plan fills, leaving headroom for bursts and slower vCPUs. */
  targetUtilisation: z.number().positive().max(1).default(0.6),
  /** Instances beyond the load, so losing one (or a zone) keeps up. */
  spareInstances: z.number().int().nonnegative().default(1),
  /** A compact prediction record in the log's message: id, time, latency, 6 features and 2 outputs serialise to about 257 bytes. */
  recordBytes: z.number().positive().default(260),
  /** A predictions row as BigQuery sizes it (strings + 2 bytes, numbers and times 8 bytes, JSON as text). */
  rowBytes: z.number().positive().default(320),
  /** PredictionLog's defaults (shared/services/prediction-log.ts): records per message and longest wait. */
  logBatchSize: z.number().int().positive().default(1000),
  logFlushIntervalMs: z.number().positive().default(50),
  /** Attributes, publish time and message id of one message. */
  messageOverheadBytes: z.number().nonnegative().default(100),
  /** ingest-predictions' time per message: one insertAll round trip (the local DuckDB path takes ~31 ms a 500-row message). */
  ingestSecondsPerMessage: z.number().positive().default(0.3),
  groundTruthFraction: z.number().min(0).max(1).default(0.1),
  /** Online feature documents read per prediction (requests with entity_ids: one batched read, a document per entity). */
  onlineLookupsPerPrediction: z.number().nonnegative().default(1),
  /** Entities the materialize job writes a day, and the hours it takes. */
  entitiesMaterializedPerDay: z.number().nonnegative().default(1_000_000),
  materializeHours: z.number().positive().default(1),
  retentionDays: z.number().nonnegative().default(90),
});
export type CapacityInputs = z.infer<typeof CapacityInputs>;

/** Which way prediction rows reach BigQuery. */
export type IngestPath = 'insertAll' | 'storageWrite' | 'bigquerySubscription';

/** One quota or limit against the planned load: where it is reached, and how the design moves past it. */
export interface QuotaUse {
  name: string;
  limit: number;
  unit: string;
  used: number;
  /** The rate at which it is reached; null when it does not grow with predictions. */
  reachedAtPredictionsPerSecond: number | null;
  past: string;
  source: string;
}

/** The plan: every figure follows from the inputs, the deployment config, the prices and the measured serving rate. */
export interface CapacityPlan {
  inputs: CapacityInputs;
  serving: { requestsPerSecond: number; predictionsPerSecondPerInstance: number; instances: number; vcpus: number; gib: number };
  pubsub: Record<'batched' | 'unbatched', LogMessages & { monthlyUsd: number }>;
  ingest: { busyInstances: number; maxInstances: number };
  bigquery: { rowsPerSecond: number; bytesPerSecond: number; paths: Record<IngestPath, { billedBytesPerSecond: number; monthlyUsd: number }> };
  firestore: { readsPerSecond: number; writesPerSecond: number };
  monthly: { item: string; usd: number }[];
  monthlyUsd: number;
  quotas: QuotaUse[];
  firstQuota: QuotaUse;
}

/** The prediction log's messages on the predictions topic. */
interface LogMessages {
  recordsPerMessage: number;
  messagesPerSecond: number;
  bytesPerSecond: number;
  billedBytesPerSecond: number;
}

/** Seconds of one vCPU per request of `rows` rows: a fixed part and a part per row, from the two measured points. */
export function secondsPerRequest(rows: number): number {
  const { oneRow, batched } = MEASURED_SERVING;
  const perRow = (1 / batched.requestsPerSecond - 1 / oneRow.requestsPerSecond) / (batched.rowsPerRequest - oneRow.rowsPerRequest);
  return 1 / oneRow.requestsPerSecond + perRow * (rows - oneRow.rowsPerRequest);
}

/** The capacity and monthly cost of serving and logging `predictionsPerSecond` sustained, and the first quota it meets. */
export function planCapacity(given: z.input<typeof CapacityInputs>, stack: Stack, config: DeployConfig): CapacityPlan {
  const inputs = CapacityInputs.parse(given);
  const loads = loadsOf(inputs, stack, config);
  const prices = pricesWith(config.cost.prices);
  const usd = (name: PriceName, quantity: number) => Math.max(0, quantity - prices[name].freePerMonth) * prices[name].usd;
  const { serving, pubsub, ingest, bigquery, firestore } = loads;
  const monthly = [
    {
      item: `serving: ${serving.instances} instances, instance-based billing`,
      usd: usd('runInstanceVcpuSecond', serving.vcpus * SECONDS_PER_MONTH) + usd('runInstanceGibSecond', serving.gib * SECONDS_PER_MONTH),
    },
    { item: 'Pub/Sub: batched prediction events, publish + push', usd: pubsub.batched.monthlyUsd },
    {
      item: `ingest-predictions: ${ingest.busyInstances.toFixed(1)} busy instances`,
      usd:
        usd('runVcpuSecond', ingest.busyInstances * ingest.vcpu * SECONDS_PER_MONTH) +
        usd('runGibSecond', ingest.busyInstances * ingest.gib * SECONDS_PER_MONTH) +
        usd('runRequests', (pubsub.batched.messagesPerSecond * SECONDS_PER_MONTH) / 1e6),
    },
    { item: 'BigQuery: legacy streaming inserts (the platform today)', usd: bigquery.paths.insertAll.monthlyUsd },
    { item: `BigQuery: storage of ${inputs.retentionDays} days`, usd: usd('bigqueryStorage', (bigquery.bytesPerSecond * 86_400 * inputs.retentionDays) / GIB) },
    { item: 'Firestore: online feature reads', usd: usd('firestoreReads', (firestore.readsPerSecond * SECONDS_PER_MONTH) / 1e5) },
    { item: 'Firestore: materialize writes', usd: usd('firestoreWrites', (firestore.writesPerSecond * SECONDS_PER_MONTH) / 1e5) },
  ];
  const quotas = QUOTAS.map((quota) => quotaUse(quota, inputs, loads, (rate) => loadsOf({ ...inputs, predictionsPerSecond: rate }, stack, config), config));
  const growing = quotas.filter((quota) => quota.reachedAtPredictionsPerSecond !== null);
  const firstQuota = growing.reduce((first, quota) => (quota.reachedAtPredictionsPerSecond! < first.reachedAtPredictionsPerSecond! ? quota : first));
  const { ingest: _, ...shown } = loads;
  return {
    inputs,
    ...shown,
    ingest: { busyInstances: ingest.busyInstances, maxInstances: ingest.maxInstances },
    monthly,
    monthlyUsd: monthly.reduce((sum, line) => sum + line.usd, 0),
    quotas,
    firstQuota,
  };
}

/** What carries the load at one rate: serving, the log's messages, ingest, BigQuery and Firestore. */
function loadsOf(inputs: CapacityInputs, stack: Stack, config: DeployConfig) {
  const prices = pricesWith(config.cost.prices);
  const serving = servingOf(inputs, config);
  const priced = (messages: LogMessages) => ({
    ...messages,
    monthlyUsd: Math.max(0, (messages.billedBytesPerSecond * SECONDS_PER_MONTH) / TIB - prices.pubsubThroughput.freePerMonth) * prices.pubsubThroughput.usd,
  });
  const pubsub = {
    batched: priced(logMessages(inputs, serving.instances - inputs.spareInstances)),
    unbatched: priced(logMessages({ ...inputs, logBatchSize: 1 }, 1)),
  };
  const spec = stack.functions.find((candidate) => candidate.trigger.type === 'topic' && candidate.trigger.topic === TOPICS.predictions)!;
  const ingest = {
    busyInstances: pubsub.batched.messagesPerSecond * inputs.ingestSecondsPerMessage,
    maxInstances: spec.maxInstances,
    vcpu: defaultCpuOf(spec.memory),
    gib: gibOf(spec.memory),
  };
  const firestore = {
    readsPerSecond: inputs.predictionsPerSecond * inputs.onlineLookupsPerPrediction,
    writesPerSecond: inputs.entitiesMaterializedPerDay / 86_400,
  };
  return { serving, pubsub, ingest, bigquery: bigqueryOf(inputs, config), firestore };
}

type Loads = ReturnType<typeof loadsOf>;

function servingOf(inputs: CapacityInputs, config: DeployConfig): CapacityPlan['serving'] {
  const requestsPerSecond = inputs.predictionsPerSecond / inputs.rowsPerRequest;
  const predictionsPerSecondPerInstance = ((config.serving.cpu * inputs.rowsPerRequest) / secondsPerRequest(inputs.rowsPerRequest)) * inputs.targetUtilisation;
  const instances = Math.ceil(inputs.predictionsPerSecond / predictionsPerSecondPerInstance) + inputs.spareInstances;
  return {
    requestsPerSecond,
    predictionsPerSecondPerInstance,
    instances,
    vcpus: instances * config.serving.cpu,
    gib: instances * gibOf(config.serving.memory),
  };
}

/** The log's messages when `instances` share the load: each sends a message per full batch or per flush interval, whichever comes first. */
function logMessages(inputs: CapacityInputs, instances: number): LogMessages {
  const perInstance = inputs.predictionsPerSecond / Math.max(1, instances);
  const recordsPerMessage = Math.max(1, Math.min(inputs.logBatchSize, (perInstance * inputs.logFlushIntervalMs) / 1000));
  const messagesPerSecond = inputs.predictionsPerSecond / recordsPerMessage;
  const messageBytes = recordsPerMessage * inputs.recordBytes + inputs.messageOverheadBytes;
  // Each message is published in its own request and pushed to ingest-predictions in another: two billed requests.
  return {
    recordsPerMessage,
    messagesPerSecond,
    bytesPerSecond: messagesPerSecond * messageBytes,
    billedBytesPerSecond: 2 * messagesPerSecond * Math.max(PUBSUB_MIN_BYTES, messageBytes),
  };
}

function bigqueryOf(inputs: CapacityInputs, config: DeployConfig): CapacityPlan['bigquery'] {
  const prices = pricesWith(config.cost.prices);
  const groundTruthRows = inputs.predictionsPerSecond * inputs.groundTruthFraction;
  const rowsPerSecond = inputs.predictionsPerSecond + groundTruthRows;
  // A ground_truth row (id, label, time) is about 100 bytes.
  const bytesPerSecond = inputs.predictionsPerSecond * inputs.rowBytes + groundTruthRows * 100;
  const monthly = (bytes: number) => (bytes * SECONDS_PER_MONTH) / GIB;
  const billed = (name: PriceName, bytesPerMonth: number, unit = GIB) =>
    Math.max(0, (bytesPerMonth * GIB) / unit - prices[name].freePerMonth) * prices[name].usd;
  const insertAll = inputs.predictionsPerSecond * Math.max(INSERT_ALL_MIN_BYTES, inputs.rowBytes) + groundTruthRows * INSERT_ALL_MIN_BYTES;
  // A BigQuery subscription writes one row per message: serving would publish one record per message, batched per request.
  const subscription = rowsPerSecond * (inputs.recordBytes + inputs.messageOverheadBytes);
  return {
    rowsPerSecond,
    bytesPerSecond,
    paths: {
      insertAll: { billedBytesPerSecond: insertAll, monthlyUsd: billed('bigqueryStreaming', monthly(insertAll)) },
      storageWrite: { billedBytesPerSecond: bytesPerSecond, monthlyUsd: billed('bigqueryStorageWrite', monthly(bytesPerSecond)) },
      bigquerySubscription: { billedBytesPerSecond: subscription, monthlyUsd: billed('pubsubBigQuerySubscription', monthly(subscription), TIB) },
    },
  };
}

/** A quota or limit as data: its value, what uses it at a load, and the page it comes from. */
interface Quota {
  name: string;
  limit: (loads: Loads, config: DeployConfig) => number;
  unit: string;
  used: (loads: Loads, inputs: CapacityInputs) => number;
  /** False for a use that does not grow with predictions (a batch job's rate). */
  grows: boolean;
  past: (loads: Loads) => string;
  source: string;
}

/** Minutes for Firestore's 500/50/5 ramp to reach a rate: 500 operations/s, then 50% more every 5 minutes. */
export function firestoreRampMinutes(operationsPerSecond: number): number {
  return 5 * Math.max(0, Math.ceil(Math.log(operationsPerSecond / 500) / Math.log(1.5)));
}

/** The quotas and limits the plan checks, each with the page it comes from. */
const QUOTAS: Quota[] = [
  {
    name: 'serving instances (serving.maxInstances)',
    limit: (_, config) => config.serving.maxInstances,
    unit: 'instances',
    used: (loads) => loads.serving.instances,
    grows: true,
    past: () => 'raise serving.maxInstances in mlops.deploy.json; Cloud Run allows more per revision on request (its limit depends on region and size)',
    source: 'mlops.deploy.json; cloud.google.com/run/quotas (container instances per revision)',
  },
  {
    name: 'ingest-predictions instances (maxInstances in infra/stack.ts, one message at a time)',
    limit: (loads) => loads.ingest.maxInstances,
    unit: 'instances',
    used: (loads) => loads.ingest.busyInstances,
    grows: true,
    past: () =>
      'raise its maxInstances, send larger messages (logBatchSize, logFlushIntervalMs), or let a Pub/Sub BigQuery subscription write the rows with no function at all',
    source: 'infra/stack.ts',
  },
  {
    name: 'Pub/Sub publisher throughput per region (large regions)',
    limit: () => 200e6,
    unit: 'bytes/s',
    // Quota counts each publish request at 1 kB at least, as billing does: half of the billed publish + push bytes.
    used: (loads) => loads.pubsub.batched.billedBytesPerSecond / 2,
    grows: true,
    past: () => 'request a higher quota (12,000,000 kB a minute by default; 3,000,000 in small regions)',
    source: 'cloud.google.com/pubsub/quotas',
  },
  {
    name: 'BigQuery legacy streaming inserts per project (US/EU multi-region; 300 MB/s elsewhere)',
    limit: () => 1e9,
    unit: 'bytes/s',
    used: (loads) => loads.bigquery.bytesPerSecond,
    grows: true,
    past: () => 'write with the Storage Write API (3 GB/s) or a Pub/Sub BigQuery subscription',
    source: 'cloud.google.com/bigquery/quotas (streaming inserts)',
  },
  {
    name: 'BigQuery Storage Write API throughput per project (US/EU multi-region)',
    limit: () => 3e9,
    unit: 'bytes/s',
    used: (loads) => loads.bigquery.bytesPerSecond,
    grows: true,
    past: () => 'request a higher quota',
    source: 'cloud.google.com/bigquery/quotas (Storage Write API), as transcribed by rate-limits.apis.io',
  },
  {
    name: 'Firestore: new traffic starts at 500 operations/s, +50% every 5 minutes (500/50/5)',
    limit: () => 500,
    unit: 'reads/s at first',
    used: (loads) => loads.firestore.readsPerSecond,
    grows: true,
    past: (loads) =>
      `ramp entity_ids traffic up over ${firestoreRampMinutes(loads.firestore.readsPerSecond)} minutes (or warm the collection before a cut-over), and keep entity document ids from being sequential`,
    source: 'cloud.google.com/firestore/docs/best-practices (ramping up traffic; c.doit.com "Firestore scaling: the 500/50/5 rule")',
  },
  {
    name: 'Firestore writes to a collection with a sequentially indexed field (materialize)',
    limit: () => 500,
    unit: 'writes/s',
    used: (_, inputs) => inputs.entitiesMaterializedPerDay / (inputs.materializeHours * 3600),
    grows: false,
    past: () => "exempt the online documents' event time from indexing, or spread the job over more hours",
    source: 'cloud.google.com/firestore/quotas (soft limits)',
  },
];

/** A quota against the planned load, and the lowest rate that reaches it (found by bisection: uses grow with the rate, not always linearly). */
function quotaUse(quota: Quota, inputs: CapacityInputs, loads: Loads, loadsAt: (rate: number) => Loads, config: DeployConfig): QuotaUse {
  const limit = quota.limit(loads, config);
  const reaches = (rate: number) => quota.used(loadsAt(rate), inputs) >= limit;
  let reachedAt: number | null = null;
  if (quota.grows && reaches(MAX_RATE)) {
    let [low, high] = [0, MAX_RATE];
    while (high - low > Math.max(1, low * 1e-4)) {
      const middle = (low + high) / 2;
      if (reaches(middle)) high = middle;
      else low = middle;
    }
    reachedAt = high;
  }
  return {
    name: quota.name,
    limit,
    unit: quota.unit,
    used: quota.used(loads, inputs),
    reachedAtPredictionsPerSecond: reachedAt,
    past: quota.past(loads),
    source: quota.source,
  };
}

/** The highest rate the plan looks for a quota at. */
const MAX_RATE = 1e9;
