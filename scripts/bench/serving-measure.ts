import type { BenchContext } from './context.js';
import { predictBody } from './models.js';
import { count, latency, othersCpu, percent, table, timed, times } from './report.js';
import { FASTAPI_FALLBACK_REQUESTS_PER_SECOND, measureFastApi, measureHandWritten, measureWithApiKeys } from './serving-peers.js';
import { type Case, type CaseResult, type InferenceLimit, bareLimit, inferenceLimit, measureCases, startEntry } from './serving-entries.js';
import { LABELS, type RouteMeasurement, failures, inferenceRows } from './serving-route.js';
import { type RoundRatios, measureRounds } from './serving-rounds.js';
import { type StableUrlMeasurement, measureStableUrl } from './serving-url.js';

/** Everything the serving section loads, each under the same one-row (or 64-row) case. */
export interface ServingMeasurement {
  handWritten: CaseResult;
  revision: CaseResult;
  revisionBatch: CaseResult;
  withKeys: CaseResult;
  /** The stable URL's figures, or why they could not be taken. */
  stableUrl: StableUrlMeasurement | { error: string };
  /** undefined when the peer's packages are not installed: FASTAPI_FALLBACK_REQUESTS_PER_SECOND stands in. */
  fastApi: CaseResult | undefined;
  framework: CaseResult;
  bare: CaseResult;
  inference: InferenceLimit;
  /** The hand-written minimum, the revision and FastAPI loaded in turn: what the throughput targets are judged on. */
  rounds: RoundRatios;
}

/**
 * Loads every server in an order that puts each target's figures next to each other: the hand-written
 * minimum, the revision (1 and 64 rows), with API keys, through the stable URL, the FastAPI peer, then
 * the references (Functions Framework, bare node:http), and last the alternating rounds of the first three.
 */
export async function measureServing(context: BenchContext): Promise<ServingMeasurement> {
  const one: Case = { rows: 1, path: '/predict', bodyFile: context.bodyFile('predict-1.json', predictBody(1)) };
  const batch: Case = { rows: 64, path: '/predict', bodyFile: context.bodyFile('predict-64.json', predictBody(64)) };
  const inference = await timed('inference loop', () => inferenceLimit(context));
  const handWritten = await timed('hand-written minimum', () => measureHandWritten(context, one));
  const [revision, revisionBatch] = (await timed('serving revision', () => measureEntry(context, 'node-server', [one, batch]))) as [CaseResult, CaseResult];
  const withKeys = await timed('with API keys', () => measureWithApiKeys(context, one));
  const stableUrl = await timed('stable URL', () => measureStableUrl(context, one).catch((error: Error) => ({ error: error.message.split('\n')[0]! })));
  const fastApi = await timed('FastAPI peer', () => measureFastApi(context, one));
  const [framework] = (await timed('Functions Framework', () => measureEntry(context, 'functions-framework', [one]))) as [CaseResult];
  const bare = await timed('bare node:http', () => bareLimit(context, one, revision.responseBytes, 'after'));
  const rounds = await timed('alternating rounds', () => measureRounds(context, one));
  const measurement = { handWritten, revision, revisionBatch, withKeys, stableUrl, fastApi, framework, bare, inference, rounds };
  // The Open Inference section compares its figures with these.
  await context.memo<RouteMeasurement>('route:predict', async () => ({
    results: [revision, revisionBatch, framework],
    bare: [bare],
    bareRuns: [bare],
    inference,
  }));
  return measurement;
}

async function measureEntry(context: BenchContext, entry: 'node-server' | 'functions-framework', cases: Case[]): Promise<CaseResult[]> {
  const target = await startEntry(context, entry);
  try {
    return await measureCases(context, entry, target, cases);
  } finally {
    await target.stop();
  }
}

/** The FastAPI figure the ratios use: measured, or the fallback when the peer could not run here. */
export const fastApiRate = ({ fastApi }: ServingMeasurement): number => fastApi?.requestsPerSecond ?? FASTAPI_FALLBACK_REQUESTS_PER_SECOND;

/** Every server of the section with its ratios to the hand-written minimum and to FastAPI. */
export function servingTable(measured: ServingMeasurement): string {
  const { handWritten, revision, revisionBatch, withKeys, stableUrl, fastApi, framework, bare, inference } = measured;
  const row = (result: CaseResult, label = LABELS[result.entry]) => [
    label,
    result.rows,
    count(result.requestsPerSecond),
    count(result.requestsPerSecond * result.rows),
    latency(result.p50Ms),
    latency(result.p99Ms),
    latency(result.p999Ms),
    result.rows === 1 ? percent(result.requestsPerSecond / handWritten.requestsPerSecond) : '',
    result.rows === 1 ? times(result.requestsPerSecond / fastApiRate(measured)) : '',
    failures(result),
    `${othersCpu(result.othersCores)}${result.attempts > 1 ? ' (retried)' : ''}`,
  ];
  const rows = [row(handWritten), row(revision), row(revisionBatch), row(withKeys)];
  if ('throughput' in stableUrl) {
    if (stableUrl.direct) rows.push(row(stableUrl.direct));
    rows.push(row(stableUrl.throughput));
  } else rows.push([LABELS['stable-url'], 1, `not measured: ${stableUrl.error}`, ...Array<string>(8).fill('')]);
  if (fastApi) rows.push(row(fastApi));
  else
    rows.push([
      `${LABELS.fastapi}: not measured in this run (design.md's figure)`,
      1,
      count(FASTAPI_FALLBACK_REQUESTS_PER_SECOND),
      ...Array<string>(8).fill(''),
    ]);
  rows.push(row(framework), row(bare, `${LABELS['bare-http']}, fixed ${bare.responseBytes}-byte JSON`), ...inferenceRows(inference, Array<string>(6).fill('')));
  return table(['server', 'rows/request', 'req/s', 'rows/s', 'p50', 'p99', 'p99.9', 'of hand-written', 'of FastAPI', 'failures', 'others’ CPU'], rows);
}
