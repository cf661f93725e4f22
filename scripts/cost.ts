import { parseArgs } from 'node:util';
import { type CapacityPlan, MEASURED_SERVING, planCapacity } from '../infra/capacity.js';
import { estimateMonthlyCost } from '../infra/cost.js';
import { STACK } from '../infra/stack.js';
import { FLAG_HELP, parseDeployArgs, readDeployConfig } from './lib/deploy/deploy-args.js';
import { formatCostEstimate } from './lib/deploy/print-cost.js';

// `npm run cost`: the monthly cost of the configured deployment, from mlops.deploy.json's assumptions and prices;
// with --predictions-per-second, the capacity plan for that sustained rate instead.
const CAPACITY_FLAGS = {
  'predictions-per-second': { type: 'string' },
  'rows-per-request': { type: 'string' },
  'online-lookups-per-prediction': { type: 'string' },
} as const;

const CAPACITY_HELP = `Capacity plan (instead of the estimate):
  --predictions-per-second <n>        plan serving, Pub/Sub, BigQuery and Firestore for n predictions/s sustained
  --rows-per-request <n>              rows per POST /predict (default 1)
  --online-lookups-per-prediction <n> online feature documents read per prediction (default 1; 0 without entity_ids)`;

function positiveNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!(Number.isFinite(number) && number >= 0)) throw new Error(`--${flag} expects a number of 0 or more, got "${value}".`);
  return number;
}

/** Splits the capacity flags off; the rest are the deploy flags. */
function splitArgs(argv: string[]) {
  const { values, tokens } = parseArgs({ args: argv, options: CAPACITY_FLAGS, strict: false, tokens: true });
  const capacityIndexes = new Set(
    tokens
      .filter((token) => token.kind === 'option' && token.name in CAPACITY_FLAGS)
      .flatMap((token) => (token.kind === 'option' && token.inlineValue === false ? [token.index, token.index + 1] : [token.index])),
  );
  const capacity = {
    predictionsPerSecond: positiveNumber('predictions-per-second', values['predictions-per-second'] as string | undefined),
    rowsPerRequest: positiveNumber('rows-per-request', values['rows-per-request'] as string | undefined),
    onlineLookupsPerPrediction: positiveNumber('online-lookups-per-prediction', values['online-lookups-per-prediction'] as string | undefined),
  };
  return { capacity, deploy: argv.filter((_, index) => !capacityIndexes.has(index)) };
}

const n = (value: number, digits = 0) => value.toLocaleString('en-US', { maximumFractionDigits: digits });
const bytes = (perSecond: number) => (perSecond >= 1e6 ? `${n(perSecond / 1e6, 1)} MB/s` : `${n(perSecond / 1e3, 1)} kB/s`);
const usd = (amount: number) => `$${n(amount, 2)}`;

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const line = (row: string[]) => `| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(rows[0]!), `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`, ...rows.slice(1).map(line)].join('\n');
}

/** The plan as the README shows it: the load, what carries it and its monthly cost, then the quotas. */
function formatCapacityPlan(plan: CapacityPlan): string {
  const { inputs, serving, pubsub, bigquery, firestore, ingest } = plan;
  const load = [
    ['what', 'rate', 'billed', 'USD / month'],
    [
      'serving (Cloud Run, 1 row = 1 prediction)',
      `${n(serving.requestsPerSecond)} req/s on ${serving.instances} instances of ${n(serving.vcpus / serving.instances)} vCPU (${n(serving.predictionsPerSecondPerInstance)} predictions/s each)`,
      `${n(serving.vcpus)} vCPU always on`,
      usd(plan.monthly[0]!.usd),
    ],
    [
      'Pub/Sub, batched events (the platform)',
      `${n(pubsub.batched.messagesPerSecond, 1)} msg/s of ${n(pubsub.batched.recordsPerMessage)} records, ${bytes(pubsub.batched.bytesPerSecond)}`,
      `${bytes(pubsub.batched.billedBytesPerSecond)} (publish + push)`,
      usd(plan.monthly[1]!.usd),
    ],
    [
      'Pub/Sub, one prediction per message',
      `${n(pubsub.unbatched.messagesPerSecond)} msg/s, ${bytes(pubsub.unbatched.bytesPerSecond)}`,
      `${bytes(pubsub.unbatched.billedBytesPerSecond)} (1 kB floor each)`,
      usd(pubsub.unbatched.monthlyUsd),
    ],
    ['ingest-predictions (Cloud Run functions)', `${n(ingest.busyInstances, 1)} of ${ingest.maxInstances} instances busy`, '', usd(plan.monthly[2]!.usd)],
    [
      'BigQuery ingest: legacy insertAll (the platform)',
      `${n(bigquery.rowsPerSecond)} rows/s, ${bytes(bigquery.bytesPerSecond)}`,
      `${bytes(bigquery.paths.insertAll.billedBytesPerSecond)} (1 KB a row)`,
      usd(bigquery.paths.insertAll.monthlyUsd),
    ],
    [
      'BigQuery ingest: Storage Write API',
      '',
      `${bytes(bigquery.paths.storageWrite.billedBytesPerSecond)} (2 TiB a month free)`,
      usd(bigquery.paths.storageWrite.monthlyUsd),
    ],
    [
      'BigQuery ingest: Pub/Sub BigQuery subscription',
      '',
      `${bytes(bigquery.paths.bigquerySubscription.billedBytesPerSecond)} (replaces push + function)`,
      usd(bigquery.paths.bigquerySubscription.monthlyUsd),
    ],
    ['BigQuery storage', `${inputs.retentionDays} days kept`, '', usd(plan.monthly[4]!.usd)],
    [
      'Firestore (online features)',
      `${n(firestore.readsPerSecond)} reads/s, ${n(firestore.writesPerSecond, 1)} writes/s`,
      '',
      usd(plan.monthly[5]!.usd + plan.monthly[6]!.usd),
    ],
    ['total (the platform as built: batched events, insertAll)', '', '', usd(plan.monthlyUsd)],
  ];
  const quotas = [
    ['quota or limit', 'limit', 'used', 'reached at', 'past it'],
    ...plan.quotas.map((quota) => [
      quota.name,
      `${n(quota.limit)} ${quota.unit}`,
      n(quota.used, 1),
      quota.reachedAtPredictionsPerSecond === null ? 'does not grow with predictions' : `${n(quota.reachedAtPredictionsPerSecond)} predictions/s`,
      quota.past,
    ]),
  ];
  return [
    `Capacity plan: ${n(inputs.predictionsPerSecond)} predictions/s sustained, ${inputs.rowsPerRequest} row(s) a request (30-day month, list prices)`,
    `Serving capacity per vCPU is the revision measured in BENCHMARKS.md on ${MEASURED_SERVING.measuredOn}, used at ${n(inputs.targetUtilisation * 100)}%, plus ${inputs.spareInstances} spare instance(s).`,
    '',
    table(load),
    '',
    table(quotas),
    '',
    `First limit reached: ${plan.firstQuota.name}, at ${n(plan.firstQuota.reachedAtPredictionsPerSecond!)} predictions/s. Past it: ${plan.firstQuota.past}.`,
    'Sources: each price and quota names its page in infra/prices.ts and infra/capacity.ts; assumptions are the defaults of CapacityInputs there.',
  ].join('\n');
}

const { capacity, deploy } = splitArgs(process.argv.slice(2));
const args = parseDeployArgs(deploy);
if (args.help) {
  console.log(`npm run cost -- [flags]: estimate the monthly cost of the deployment.\n\n${FLAG_HELP}\n\n${CAPACITY_HELP}`);
  process.exit(0);
}
try {
  const config = readDeployConfig(args);
  if (capacity.predictionsPerSecond === undefined) console.log(formatCostEstimate(estimateMonthlyCost(STACK, config)));
  else {
    const given = Object.fromEntries(Object.entries(capacity).filter(([, value]) => value !== undefined));
    console.log(formatCapacityPlan(planCapacity(given as { predictionsPerSecond: number }, STACK, config)));
  }
} catch (error) {
  console.error(`Cost estimate failed: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}
