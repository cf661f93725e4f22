import { parseCron } from '../shared/domain/cron.js';
import { TOPICS } from '../shared/domain/topics.js';
import type { DeployConfig } from './deploy-config.js';
import { scheduleOf } from './plan-scheduler.js';
import type { Stack } from './plan-steps.js';
import { type CostAssumptions, PRICES_AS_OF, type PriceName, pricesWith, type UnitPrice } from './prices.js';
import type { FunctionSpec } from './stack.js';

/** A month, for the estimate: 30 days. */
export const DAYS_PER_MONTH = 30;
const SECONDS_PER_MONTH = DAYS_PER_MONTH * 86_400;
const GIB = 1024 ** 3;
const TIB = 1024 ** 4;
/** Pub/Sub bills at least 1000 bytes a message; BigQuery streaming at least 1 KB a row and 10 MB a table per query. */
const PUBSUB_MIN_BYTES = 1000;
const STREAMING_MIN_BYTES = 1024;
const QUERY_MIN_BYTES = 10 * 1024 ** 2;

/** One line of the estimate: a quantity per month at a unit price. */
export interface CostLine {
  price: UnitPrice;
  quantity: number;
  /** Before the free tier. */
  listUsd: number;
  /** After the free tier (when this project is the billing account's only use of it). */
  billedUsd: number;
}

/** A monthly cost estimate with everything it assumed. */
export interface CostEstimate {
  lines: CostLine[];
  listUsd: number;
  billedUsd: number;
  assumptions: CostAssumptions;
  pricesAsOf: string;
}

/** The memory of a size such as `512Mi` or `1Gi`, in GiB. */
export function gibOf(memory: string): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(memory);
  if (!match) throw new Error(`"${memory}" is not a size such as 512Mi or 1Gi.`);
  return Number(match[1]) / (match[2] === 'Mi' ? 1024 : 1);
}

/** The vCPU Cloud Functions gen2 gives a memory size by default. */
export function defaultCpuOf(memory: string): number {
  const gib = gibOf(memory);
  const tiers: [number, number][] = [
    [0.125, 0.083],
    [0.25, 0.167],
    [0.5, 0.333],
    [1, 0.583],
    [2, 1],
    [8, 2],
  ];
  return tiers.find(([limit]) => gib <= limit)?.[1] ?? 4;
}

/** How many times a day a cron schedule fires, averaged over a week. */
export function runsPerDay(schedule: string): number {
  const cron = parseCron(schedule);
  let runs = 0;
  for (let minute = 0; minute < 7 * 1440; minute++) if (cron.matches(new Date(Date.UTC(2024, 0, 1, 0, minute)))) runs++;
  return runs / 7;
}

interface Load {
  invocationsPerDay: number;
  seconds: number;
  cpu: number;
  gib: number;
}

function loadOf(spec: FunctionSpec, stack: Stack, config: DeployConfig, a: CostAssumptions): Load {
  if (spec.perModel) {
    const { memory, cpu } = config.serving;
    return { invocationsPerDay: a.predictionsPerDay / a.predictionsPerRequest, seconds: a.billableSecondsPerRequest, cpu, gib: gibOf(memory) };
  }
  const sized = { seconds: a.eventSecondsPerInvocation, cpu: defaultCpuOf(spec.memory), gib: gibOf(spec.memory) };
  const topic = spec.trigger.type === 'topic' ? spec.trigger.topic : undefined;
  const scheduled = stack.schedulerJobs.filter((job) => job.topic === topic && config.components[job.component]);
  let invocationsPerDay = a.controlEventsPerDay;
  if (topic === TOPICS.predictions) invocationsPerDay = a.predictionsPerDay / a.predictionsPerLogMessage;
  else if (topic === TOPICS.groundTruth) invocationsPerDay = (a.predictionsPerDay * a.groundTruthFraction) / a.predictionsPerLogMessage;
  else if (scheduled.length > 0) invocationsPerDay = scheduled.reduce((sum, job) => sum + runsPerDay(scheduleOf(job, config)), 0);
  return { invocationsPerDay, ...sized };
}

/** Quantities per month for each unit price, from the enabled components and the traffic assumptions. */
function quantities(stack: Stack, config: DeployConfig, a: CostAssumptions): Partial<Record<PriceName, number>> {
  const enabled = stack.functions.filter((spec) => config.components[spec.component]);
  const loads = enabled.map((spec) => loadOf(spec, stack, config, a));
  const month = (perDay: number) => perDay * DAYS_PER_MONTH;
  const busy = (pick: (load: Load) => number) => month(loads.reduce((sum, load) => sum + load.invocationsPerDay * load.seconds * pick(load), 0));
  const serving = config.components.serving;
  const idleInstances = serving ? config.serving.minInstances * (a.servedModels + 1) : 0;
  const logging = config.components['prediction-log'];
  const groundTruthPerDay = a.predictionsPerDay * a.groundTruthFraction;
  const subscribers = (topic: string) => enabled.filter((spec) => spec.trigger.type === 'topic' && spec.trigger.topic === topic).length;
  const messageBytes = Math.max(PUBSUB_MIN_BYTES, a.predictionRecordBytes * a.predictionsPerLogMessage);
  const logMessagesPerDay = (rows: number) => rows / a.predictionsPerLogMessage;
  const pubsubBytesPerDay =
    (serving ? logMessagesPerDay(a.predictionsPerDay) * messageBytes * (1 + subscribers(TOPICS.predictions)) : 0) +
    logMessagesPerDay(groundTruthPerDay) * messageBytes * (1 + subscribers(TOPICS.groundTruth)) +
    a.controlEventsPerDay * PUBSUB_MIN_BYTES * 4;
  const predictionBytesPerDay = a.predictionsPerDay * a.predictionRecordBytes;
  const scanBytes = (days: number) => Math.max(QUERY_MIN_BYTES, days * predictionBytesPerDay);
  const driftRunsPerDay = stack.schedulerJobs
    .filter((job) => job.topic === TOPICS.monitorSchedule && config.components[job.component])
    .reduce((sum, job) => sum + runsPerDay(scheduleOf(job, config)), 0);
  const monitoring = config.components.monitoring;
  return {
    runVcpuSecond: busy((load) => load.cpu),
    runGibSecond: busy((load) => load.gib),
    runRequests: month(loads.reduce((sum, load) => sum + load.invocationsPerDay, 0)) / 1e6,
    runIdleVcpuSecond: idleInstances * SECONDS_PER_MONTH * config.serving.cpu,
    runIdleGibSecond: idleInstances * SECONDS_PER_MONTH * gibOf(config.serving.memory),
    pubsubThroughput: month(pubsubBytesPerDay) / TIB,
    bigqueryStreaming: logging ? month((a.predictionsPerDay + groundTruthPerDay) * Math.max(STREAMING_MIN_BYTES, a.predictionRecordBytes)) / GIB : 0,
    bigqueryStorage: logging ? ((predictionBytesPerDay + groundTruthPerDay * 100) * a.retentionDays) / GIB : 0,
    bigqueryQuery: monitoring ? month(driftRunsPerDay * scanBytes(1) + a.dashboardQueriesPerDay * scanBytes(a.dashboardRangeDays)) / TIB : 0,
    firestoreReads: month(a.coldStartsPerDay * 3 + a.controlEventsPerDay * 10) / 1e5,
    firestoreWrites: month(a.controlEventsPerDay * 5) / 1e5,
    gcsStorage: (a.modelSizeMiB * a.modelVersionsKept) / 1024,
    gcsClassA: month(a.controlEventsPerDay) / 1e4,
    gcsClassB: month(a.coldStartsPerDay) / 1e4,
    schedulerJobs: stack.schedulerJobs.filter((job) => config.components[job.component]).length,
    artifactStorage: (enabled.length * a.imageMiBPerFunction) / 1024,
  };
}

/**
 * The monthly cost of a deployment at list prices (see infra/prices.ts, dated PRICES_AS_OF and
 * overridable under `cost.prices`), from the traffic assumptions under `cost.assumptions`.
 */
export function estimateMonthlyCost(stack: Stack, config: DeployConfig): CostEstimate {
  const assumptions = config.cost.assumptions;
  const prices = pricesWith(config.cost.prices);
  const lines = (Object.entries(quantities(stack, config, assumptions)) as [PriceName, number][])
    .filter(([, quantity]) => quantity > 0)
    .map(([name, quantity]) => {
      const price = prices[name];
      return { price, quantity, listUsd: quantity * price.usd, billedUsd: Math.max(0, quantity - price.freePerMonth) * price.usd };
    });
  const total = (pick: (line: CostLine) => number) => lines.reduce((sum, line) => sum + pick(line), 0);
  return { lines, listUsd: total((line) => line.listUsd), billedUsd: total((line) => line.billedUsd), assumptions, pricesAsOf: PRICES_AS_OF };
}
