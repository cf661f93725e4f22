import { z } from 'zod';

/** When the default unit prices were taken from Google's public pricing pages. */
export const PRICES_AS_OF = '2025-06-01';

/** One unit price: what it is for, in USD, and how much of it each billing account gets free per month. */
export interface UnitPrice {
  service: string;
  item: string;
  unit: string;
  usd: number;
  freePerMonth: number;
}

const price = (service: string, item: string, unit: string, usd: number, freePerMonth = 0): UnitPrice => ({ service, item, unit, usd, freePerMonth });

/**
 * USD list prices for a Tier-1 region (us-central1) as published on cloud.google.com/<product>/pricing
 * on PRICES_AS_OF, before discounts and taxes. Prices change: override any of them under `cost.prices`
 * in mlops.deploy.json. Cloud Functions gen2 is billed as Cloud Run with request-based billing.
 */
export const DEFAULT_PRICES = {
  runVcpuSecond: price('Cloud Run', 'CPU while handling requests', 'vCPU-second', 0.000024, 180_000),
  runGibSecond: price('Cloud Run', 'memory while handling requests', 'GiB-second', 0.0000025, 360_000),
  runRequests: price('Cloud Run', 'requests', 'million requests', 0.4, 2),
  runIdleVcpuSecond: price('Cloud Run', 'idle min-instance CPU', 'vCPU-second', 0.0000025),
  runIdleGibSecond: price('Cloud Run', 'idle min-instance memory', 'GiB-second', 0.0000025),
  pubsubThroughput: price('Pub/Sub', 'publish + delivery throughput (1 KB minimum per message)', 'TiB', 40, 10 / 1024),
  bigqueryStreaming: price('BigQuery', 'streaming inserts (1 KB minimum per row)', 'GiB', 0.05),
  bigqueryStorage: price('BigQuery', 'active logical storage', 'GiB-month', 0.02, 10),
  bigqueryQuery: price('BigQuery', 'on-demand queries (10 MB minimum per table)', 'TiB scanned', 6.25, 1),
  firestoreReads: price('Firestore', 'document reads', '100k reads', 0.06, 15),
  firestoreWrites: price('Firestore', 'document writes', '100k writes', 0.18, 6),
  gcsStorage: price('Cloud Storage', 'Standard storage, regional', 'GiB-month', 0.02, 5),
  gcsClassA: price('Cloud Storage', 'Class A operations (writes)', '10k operations', 0.05, 0.5),
  gcsClassB: price('Cloud Storage', 'Class B operations (reads)', '10k operations', 0.004, 5),
  schedulerJobs: price('Cloud Scheduler', 'jobs', 'job-month', 0.1, 3),
  artifactStorage: price('Artifact Registry', 'function images', 'GiB-month', 0.1, 0.5),
  // cloud.google.com/run/pricing, Tier 1, services with instance-based billing (CPU always allocated): no request fee.
  runInstanceVcpuSecond: price('Cloud Run', 'CPU, instance-based billing', 'vCPU-second', 0.000018, 240_000),
  runInstanceGibSecond: price('Cloud Run', 'memory, instance-based billing', 'GiB-second', 0.000002, 450_000),
  // cloud.google.com/bigquery/pricing#data_ingestion_pricing: the Storage Write API bills the bytes written, no per-row minimum.
  bigqueryStorageWrite: price('BigQuery', 'Storage Write API ingestion', 'GiB', 0.025, 2048),
  // cloud.google.com/pubsub/pricing: BigQuery subscriptions bill their own throughput, with no free tier.
  pubsubBigQuerySubscription: price('Pub/Sub', 'BigQuery subscription throughput', 'TiB', 50),
} satisfies Record<string, UnitPrice>;

/** The name of one unit price. */
export type PriceName = keyof typeof DEFAULT_PRICES;

/** Traffic the estimate assumes; every number is stated so a reader can disagree with it. */
export const CostAssumptions = z.object({
  /** Predictions served per day, online. */
  predictionsPerDay: z.number().nonnegative().default(100_000),
  /** Rows per POST /predict. */
  predictionsPerRequest: z.number().positive().default(1),
  /** Billed instance time per request: Cloud Run rounds each busy period up to 100 ms, so sparse traffic pays 0.1 s a request. */
  billableSecondsPerRequest: z.number().nonnegative().default(0.1),
  /** Size of one logged prediction (features + outputs JSON) in Pub/Sub and BigQuery. */
  predictionRecordBytes: z.number().positive().default(1024),
  /** Prediction records per Pub/Sub message (serving batches them). */
  predictionsPerLogMessage: z.number().positive().default(50),
  /** Share of predictions that later get ground truth. */
  groundTruthFraction: z.number().min(0).max(1).default(0.1),
  /** Billed seconds per invocation of an event-driven function. */
  eventSecondsPerInvocation: z.number().nonnegative().default(0.5),
  /** Uploads, promotions, deploys and registry API calls per day. */
  controlEventsPerDay: z.number().nonnegative().default(20),
  /** Models served at once; each is its own Cloud Run service. */
  servedModels: z.number().int().nonnegative().default(1),
  /** Serving cold starts per day (each reads the registry and the model file). */
  coldStartsPerDay: z.number().nonnegative().default(24),
  modelSizeMiB: z.number().nonnegative().default(10),
  modelVersionsKept: z.number().nonnegative().default(20),
  /** Days of predictions and ground truth kept in BigQuery. */
  retentionDays: z.number().nonnegative().default(90),
  /** Grafana panel queries per day and the days each one reads. */
  dashboardQueriesPerDay: z.number().nonnegative().default(200),
  dashboardRangeDays: z.number().positive().default(1),
  /** Image size of one deployed function (Node.js runtime + node_modules). */
  imageMiBPerFunction: z.number().nonnegative().default(350),
});
export type CostAssumptions = z.infer<typeof CostAssumptions>;

/** `cost` in mlops.deploy.json: assumption and price overrides (USD per the price's unit). */
export const CostSettings = z.object({
  assumptions: CostAssumptions.prefault({}),
  prices: z.partialRecord(z.enum(Object.keys(DEFAULT_PRICES) as [PriceName, ...PriceName[]]), z.number().nonnegative()).default({}),
});
export type CostSettings = z.infer<typeof CostSettings>;

/** The unit prices in effect: the defaults with the configured overrides. */
export function pricesWith(overrides: Partial<Record<PriceName, number>>): Record<PriceName, UnitPrice> {
  const prices = { ...DEFAULT_PRICES } as Record<PriceName, UnitPrice>;
  for (const [name, usd] of Object.entries(overrides) as [PriceName, number][]) prices[name] = { ...prices[name], usd };
  return prices;
}
