import { MAX_DELIVERY_ATTEMPTS } from '../../infra/stack.js';
import { ENV } from '../../shared/config/env.js';
import { type ProfileSummary, packageShare } from './profile.js';
import { count, latency, ms, percent, seconds, times } from './report.js';
import type { CaseResult } from './serving-entries.js';
import { type Layer, type LayerId, perRequestMicros } from './serving-layers.js';
import { type ServingMeasurement, fastApiRate } from './serving-measure.js';
import { FASTAPI_FALLBACK_REQUESTS_PER_SECOND } from './serving-peers.js';
import { TARGET_P99_MS, TARGET_SHARE_OF_HAND_WRITTEN, TARGET_TIMES_FASTAPI, held } from './serving-targets.js';
import { LOAD_AFTER_MS, PROMOTE_AFTER_MS } from './serving-url.js';

/** What the section measured, for its findings. */
export interface ServingFigures {
  measured: ServingMeasurement;
  layers: Layer[];
  /** The revision's CPU profile under the one-row load. */
  profile: ProfileSummary;
  /** The FastAPI peer's package versions, when installed. */
  peerVersions: string | undefined;
}

/** Time of the server's one thread per request: with 32 connections it is saturated. */
const micros = (result: CaseResult): number => 1e6 / result.requestsPerSecond;
const us = (value: number): string => `${count(value)} µs`;

/** What the measurements say, in prose with this run's numbers: where the time goes against each target. */
export function servingFindings(figures: ServingFigures): string {
  return [
    '### Findings',
    '',
    limit(figures),
    '',
    tail(figures),
    '',
    batching(figures),
    '',
    stableUrl(figures),
    '',
    keysAndPeer(figures),
    '',
    entry(figures),
  ].join('\n');
}

function limit({ measured: { revision, handWritten }, layers }: ServingFigures): string {
  const layer = (id: LayerId) => perRequestMicros(layers.find((candidate) => candidate.id === id)!);
  const budget = micros(handWritten) / TARGET_SHARE_OF_HAND_WRITTEN;
  const extra = micros(revision) - micros(handWritten);
  const beyond =
    extra >= 0
      ? `so ${us(extra)} a request is what the revision does beyond the hand-written server’s job`
      : `${us(-extra)} less than the hand-written server, which runs session.run once per request (a server that coalesces concurrent requests into one run can beat it; others’ CPU says whether the two figures were taken under the same conditions)`;
  const verdict =
    micros(revision) <= budget
      ? `within the ${percent(TARGET_SHARE_OF_HAND_WRITTEN)} target’s budget of ${us(budget)} a request`
      : `the ${percent(TARGET_SHARE_OF_HAND_WRITTEN)} target allows ${us(budget)} a request, ${us(micros(revision) - budget)} less than now`;
  return `**Against the hand-written minimum.** The revision answered ${count(revision.requestsPerSecond)} req/s, ${percent(revision.requestsPerSecond / handWritten.requestsPerSecond)} of the hand-written server’s ${count(handWritten.requestsPerSecond)}: ${us(micros(revision))} of its one thread a request against ${us(micros(handWritten))}, ${beyond}; ${verdict}. Layer by layer (table above), against bare node:http’s ${us(layer('bare'))} a request: the hand-written server takes ${signed(micros(handWritten) - layer('bare'))}, the serving app with its log off ${signed(layer('app-no-log') - layer('bare'))}, and the prediction log ${signed(layer('node-server') - layer('app-no-log'))} than that app (the revision).`;
}

/** "12 µs more" or "3 µs less". */
const signed = (value: number): string => `${us(Math.abs(value))} ${value >= 0 ? 'more' : 'less'}`;

function tail({ measured: { revision, handWritten, bare }, profile, layers }: ServingFigures): string {
  const noLog = layers.find((candidate) => candidate.id === 'app-no-log')?.load;
  const little = (32 / revision.requestsPerSecond) * 1000;
  const ownFrames = profile.allFrames.filter((frame) => /^(functions|shared)\//.test(frame.where)).slice(0, 3);
  const own =
    ownFrames.length === 0 ? 'none above the noise' : ownFrames.map((frame) => `\`${frame.name}\` (${frame.where}, ${percent(frame.share)})`).join(', ');
  return `**Tail.** At 32 connections the mean latency follows from throughput (Little’s law: 32 / req/s = ${ms(little)} at the revision’s rate; wrk measured a mean of ${latency(revision.meanMs)}), so a p99 ≤ ${TARGET_P99_MS} ms needs well over ${count(32 / (TARGET_P99_MS / 1000))} req/s and a tail close to the mean. The revision’s p99 was ${latency(revision.p99Ms)}, ${times(revision.p99Ms / revision.meanMs)} its mean (p99.9 ${latency(revision.p999Ms)}); the hand-written server’s ${latency(handWritten.p99Ms)}, ${times(handWritten.p99Ms / handWritten.meanMs)} its mean. What stretches the tail beyond the mean is whatever holds the one thread for all 32 connections at once: in the revision’s profile (below) garbage collection took ${percent(profile.gcShare)} of the busy time and onnxruntime ${percent(packageShare(profile, /^onnxruntime-node$/))}; the platform’s own functions with the most self time were ${own}. During the measured run the revision’s own /metrics said${held(revision).replace(/^; its/, ' its')}. The floor under any server here: bare node:http answering a fixed JSON had a p99 of ${latency(bare.p99Ms)} under the same load, the hand-written server ${latency(handWritten.p99Ms)}${noLog ? `, and the serving app with its prediction log off ${latency(noLog.p99Ms)} (${count(noLog.requestsPerSecond)} req/s): the log’s share of the tail is the difference to the revision’s ${latency(revision.p99Ms)}` : ''}.`;
}

function batching({ measured: { revision, revisionBatch, inference } }: ServingFigures): string {
  const run = (rows: number) => 1e6 / inference[rows]!.sessionRun;
  const rows = revisionBatch.rows;
  const perRow = micros(revisionBatch) / rows;
  return `**Batching.** ${rows}-row requests: ${count(revisionBatch.requestsPerSecond)} req/s, ${count(revisionBatch.requestsPerSecond * rows)} rows/s, ${times((revisionBatch.requestsPerSecond * rows) / revision.requestsPerSecond)} the one-row rows/s. A session.run call costs ${us(run(1))} for 1 row and ${us(run(rows))} for ${rows} in a loop, so the model’s share of a row falls from ${us(run(1))} to ${(run(rows) / rows).toFixed(2)} µs; a ${rows}-row request takes ${us(micros(revisionBatch))} of the thread, ${perRow.toFixed(1)} µs a row against ${us(micros(revision))} for a one-row request, and all but ${percent(run(rows) / micros(revisionBatch))} of it is spent outside session.run.`;
}

function stableUrl({ measured: { stableUrl: url, revision } }: ServingFigures): string {
  if (!('throughput' in url)) return `**Local stable URL.** Not measured in this run: ${url.error}.`;
  const { throughput, promotion, ingest } = url;
  const { load, from, to, promotedMs, retiredMs } = promotion;
  const duration = load.requests / load.requestsPerSecond;
  const { connect, read, write, timeout } = load.errors;
  const promoted =
    promotedMs === undefined
      ? `the registry did not record version ${to} serving within the run`
      : `the registry recorded version ${to} serving ${ms(promotedMs)} after the promote, and the processes that had served version ${from} were gone ${ms(retiredMs ?? promotedMs)} after the promote; the load ran on for another ${seconds(LOAD_AFTER_MS)}`;
  const ingested =
    ingest.rows >= ingest.answered
      ? 'all reached the warehouse once it resumed'
      : `${count(ingest.rows)} reached the warehouse once it resumed; the rest were not ingested (the local subscription gives a message up to its dead-letter topic after ${MAX_DELIVERY_ATTEMPTS} failed deliveries)`;
  const pinned = url.pinned > 0 ? '' : ' (no process serving the model was found to pin: the revision behind the URL ran where the scheduler put it)';
  const base = url.direct ?? revision;
  const same = url.direct
    ? `the very process behind it answered ${count(base.requestsPerSecond)} on its own port just before (p99 ${latency(base.p99Ms)})`
    : `the isolated revision answered ${count(base.requestsPerSecond)} on its own port (p99 ${latency(base.p99Ms)}; the revision behind the URL could not be loaded directly)`;
  const isolated = url.direct
    ? ` The isolated revision row (its own emulator, no platform around it) answered ${count(revision.requestsPerSecond)}: the difference between the two direct figures is the platform’s, not the URL’s (its emulator keeps every message for the paused ingest subscription, and its functions share the machine).`
    : '';
  return `**Local stable URL.** Through ${url.url}${pinned} the revision answered ${count(throughput.requestsPerSecond)} req/s (p99 ${latency(throughput.p99Ms)}); ${same}, so the URL keeps ${percent(throughput.requestsPerSecond / base.requestsPerSecond)} of it and 1/(req/s) is ${signed(micros(throughput) - micros(base))} through the URL: each connection is handed to the revision, which then answers it itself.${isolated} Promotion under load: ${seconds(duration * 1000)} of load, every response read; version ${from} → ${to} promoted ${seconds(PROMOTE_AFTER_MS)} in, and ${promoted}. Of ${count(load.requests)} requests, version ${from} answered ${count(load.versions[String(from)] ?? 0)} and version ${to} ${count(load.versions[String(to)] ?? 0)}; ${load.non2xx ?? 0} non-2xx, ${connect + read + write} socket errors, ${timeout} timeouts. Ingest was paused during these runs, so nothing downstream shared the CPU: of the ${count(ingest.answered)} predictions answered in them, ${ingested}.`;
}

function keysAndPeer({ measured, peerVersions }: ServingFigures): string {
  const { revision, withKeys, fastApi } = measured;
  const keys = `**With API keys.** With \`${ENV.apiKeyHashes}\` set and every request sending its key as \`Authorization: Bearer\`, the revision answered ${count(withKeys.requestsPerSecond)} req/s, ${percent(withKeys.requestsPerSecond / revision.requestsPerSecond)} of its rate without keys (p99 ${latency(withKeys.p99Ms)} against ${latency(revision.p99Ms)}); a request without the key was refused with 401 before the load.`;
  const peer = fastApi
    ? `**The peer.** FastAPI + uvicorn + scikit-learn (${peerVersions}), one worker on the server’s core, answered ${count(fastApi.requestsPerSecond)} req/s (p99 ${latency(fastApi.p99Ms)}); the revision answered ${times(revision.requestsPerSecond / fastApi.requestsPerSecond)} that, against a target of ${TARGET_TIMES_FASTAPI}× (${count(TARGET_TIMES_FASTAPI * fastApi.requestsPerSecond)} req/s, ${us(1e6 / (TARGET_TIMES_FASTAPI * fastApi.requestsPerSecond))} a request).`
    : `**The peer.** FastAPI + uvicorn + scikit-learn could not run here (\`apt-get install python3-fastapi python3-uvicorn python3-sklearn\`): the ratios use design.md’s ${count(FASTAPI_FALLBACK_REQUESTS_PER_SECOND)} req/s, not measured in this run; the revision answered ${times(revision.requestsPerSecond / fastApiRate(measured))} that.`;
  return `${keys}\n\n${peer}`;
}

function entry({ measured: { revision, framework }, layers }: ServingFigures): string {
  const rate = (id: LayerId) => layers.find((candidate) => candidate.id === id)!.load.requestsPerSecond;
  return `**Serving entry.** The same app under the Functions Framework (\`functions/serve/index.ts\`) answered ${count(framework.requestsPerSecond)} req/s (p99 ${latency(framework.p99Ms)}), against ${count(revision.requestsPerSecond)} for \`functions/serve/server.ts\` (${times(revision.requestsPerSecond / framework.requestsPerSecond)}); the framework’s own floor, a function answering a fixed JSON, is ${count(rate('ff-hello'))} req/s, ${percent(rate('ff-hello') / rate('bare'))} of bare node:http, before any of the platform’s code runs.`;
}
