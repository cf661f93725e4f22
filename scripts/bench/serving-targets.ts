import type { LoadResult } from './load.js';
import { type TargetCheck, count, latency, ms, percent, times } from './report.js';
import { type ServingMeasurement, fastApiRate } from './serving-measure.js';
import type { CaseResult } from './serving-entries.js';
import { type Round, type RoundRatios, roundShares, roundTimes } from './serving-rounds.js';

/** The serving revision's throughput against the hand-written minimum, and against FastAPI. */
export const TARGET_SHARE_OF_HAND_WRITTEN = 0.7;
export const TARGET_TIMES_FASTAPI = 7;
/** p99 at 32 connections, one row, in milliseconds. */
export const TARGET_P99_MS = 5;
/** Rows/s of 64-row requests against one-row requests. */
export const TARGET_BATCH_GAIN = 5;
/** The stable URL's throughput against the revision's. */
export const TARGET_URL_SHARE = 0.8;

/** The most others' CPU among the figures a target was judged on. */
const under = (...results: (LoadResult | undefined)[]): number =>
  Math.max(...results.filter((result) => result !== undefined).map((result) => result.othersCores));

/** Every serving target, judged on this run's figures. */
export function servingTargets(measured: ServingMeasurement): TargetCheck[] {
  const { revision, revisionBatch, withKeys } = measured;
  return [
    ...throughputAndTail(measured, revision, 'serving revision', measured.rounds),
    {
      target: `batching: 64-row requests ≥ ${TARGET_BATCH_GAIN}× the rows/s of one-row requests`,
      measured: `${times((revisionBatch.requestsPerSecond * revisionBatch.rows) / revision.requestsPerSecond)} (${count(revisionBatch.requestsPerSecond * revisionBatch.rows)} against ${count(revision.requestsPerSecond)} rows/s)`,
      met: (revisionBatch.requestsPerSecond * revisionBatch.rows) / revision.requestsPerSecond >= TARGET_BATCH_GAIN,
      othersCores: under(revision, revisionBatch),
    },
    ...stableUrl(measured),
    ...throughputAndTail(measured, withKeys, 'with API keys, serving revision'),
  ];
}

/**
 * Throughput against the hand-written minimum and FastAPI, and p99. With rounds, the throughput ratios are
 * the medians of the alternating rounds' own ratios; without, the single runs of the table.
 */
function throughputAndTail(measured: ServingMeasurement, result: CaseResult, who: string, rounds?: RoundRatios): TargetCheck[] {
  const { handWritten, fastApi } = measured;
  const single = `${count(result.requestsPerSecond)} of ${count(handWritten.requestsPerSecond)} req/s`;
  const share = rounds?.shareOfHandWritten ?? result.requestsPerSecond / handWritten.requestsPerSecond;
  const fastApiTimes = rounds?.timesFastApi ?? result.requestsPerSecond / fastApiRate(measured);
  const peer = fastApi
    ? `${count(fastApiRate(measured))} req/s`
    : `${count(fastApiRate(measured))} req/s, design.md's figure: FastAPI not measured in this run`;
  const roundsCores = (pick: (round: Round) => LoadResult | undefined) => (rounds ? rounds.judged.map(pick) : []);
  return [
    {
      target: `${who} ≥ ${percent(TARGET_SHARE_OF_HAND_WRITTEN)} of the hand-written minimum’s req/s (1 row, 32 connections, prediction log on)`,
      measured: rounds
        ? `${percent(share)}, the median of ${rounds.judged.length} alternating rounds (${roundShares(rounds)}); the table’s single runs ${percent(result.requestsPerSecond / handWritten.requestsPerSecond)} (${single})`
        : `${percent(share)} (${single})`,
      met: share >= TARGET_SHARE_OF_HAND_WRITTEN,
      othersCores: under(result, handWritten, ...roundsCores((round) => round.revision), ...roundsCores((round) => round.handWritten)),
    },
    {
      target: `${who} ≥ ${TARGET_TIMES_FASTAPI}× FastAPI + uvicorn + scikit-learn`,
      measured:
        rounds?.timesFastApi !== undefined
          ? `${times(fastApiTimes)}, the median of ${rounds.judged.length} alternating rounds (${roundTimes(rounds)}); the table’s single runs ${times(result.requestsPerSecond / fastApiRate(measured))} (${count(result.requestsPerSecond)} against ${peer})`
          : `${times(fastApiTimes)} (${count(result.requestsPerSecond)} against ${peer})`,
      met: fastApiTimes >= TARGET_TIMES_FASTAPI,
      othersCores: under(result, fastApi, ...roundsCores((round) => round.revision), ...roundsCores((round) => round.fastApi)),
    },
    {
      target: `${who} p99 ≤ ${TARGET_P99_MS} ms at 32 connections, 1 row`,
      measured: `${latency(result.p99Ms)} (p50 ${latency(result.p50Ms)}, p99.9 ${latency(result.p999Ms)}); the hand-written minimum’s p99 ${latency(handWritten.p99Ms)}${held(result)}`,
      met: result.p99Ms <= TARGET_P99_MS,
      othersCores: under(result, handWritten),
    },
  ];
}

/** What held the server's JavaScript thread during the run, from its /metrics. */
export function held({ runtime }: LoadResult): string {
  if (!runtime) return '';
  const { loopP99Ms, loopMaxMs, gc } = runtime;
  return `; its event loop ran late by p99 ${latency(loopP99Ms)}, at most ${latency(loopMaxMs)}; GC paused it ${count(gc.pauses / runtime.seconds)} times/s, ${percent(gc.totalMs / 1000 / runtime.seconds)} of the time, ${count(gc.over2Ms)} pauses over 2 ms`;
}

function stableUrl({ stableUrl: url, revision }: ServingMeasurement): TargetCheck[] {
  const shareTarget = `local stable URL ≥ ${percent(TARGET_URL_SHARE)} of the revision’s req/s (1 row, 32 connections)`;
  const promotionTarget = 'zero failed requests through the stable URL across a promotion under load, both versions answering';
  if (!('throughput' in url)) {
    return [shareTarget, promotionTarget].map((target) => ({ target, measured: `not measured: ${url.error}`, met: undefined }));
  }
  // The URL's cost is judged against the very process behind it on its own port, loaded just before; the isolated revision's row is the fallback.
  const base = url.direct ?? revision;
  const share = url.throughput.requestsPerSecond / base.requestsPerSecond;
  const against = url.direct ? 'the same revision on its own port' : 'the revision row';
  const { load, from, to, promotedMs } = url.promotion;
  const answered = (version: number) => load.versions[String(version)] ?? 0;
  const promoted = promotedMs === undefined ? `version ${to} not recorded serving within the run` : `promotion took ${ms(promotedMs)}`;
  return [
    {
      target: shareTarget,
      measured: `${percent(share)} of ${against} (${count(url.throughput.requestsPerSecond)} of ${count(base.requestsPerSecond)} req/s); ${percent(url.throughput.requestsPerSecond / revision.requestsPerSecond)} of the isolated revision row`,
      met: share >= TARGET_URL_SHARE,
      othersCores: under(url.throughput, base),
    },
    {
      target: promotionTarget,
      measured: `${count(load.failures)} failed of ${count(load.requests)}; version ${from} answered ${count(answered(from))}, version ${to} ${count(answered(to))}; ${promoted}`,
      met: load.failures === 0 && answered(from) > 0 && answered(to) > 0 && promotedMs !== undefined,
      othersCores: under(load),
    },
  ];
}
