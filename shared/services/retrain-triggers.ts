import { randomUUID } from 'node:crypto';
import { isPlatformError, PlatformError } from '../domain/errors.js';
import type { DriftComputed, VersionMonitoring } from '../domain/monitoring-events.js';
import { SERVING_ALIAS } from '../domain/registry.js';
import {
  conditionsHolding,
  driftFindings,
  type EpisodeStep,
  parseRetrainWhen,
  RETRAIN_WHEN_TAG,
  type RetrainReason,
  RetrainRequested,
  retrainWindowQuery,
  type TableNamer,
  warehouseTable,
} from '../domain/retrain.js';
import { TOPICS } from '../domain/topics.js';
import { parseWith } from '../domain/validation.js';
import { type Clock, systemClock } from '../ports/clock.port.js';
import type { EventBus } from '../ports/event-bus.port.js';
import type { ModelRegistry } from '../ports/model-registry.port.js';
import type { RetrainStore } from '../ports/retrain-store.port.js';

/** What a caller names of a retrain request; the id defaults to a fresh one, the time to now. */
export type RetrainRequestInput = Omit<RetrainRequested, 'schemaVersion' | 'requestedAt' | 'requestId'> & { requestId?: string };

/** What {@link requestRetrain} needs. */
export interface RequestRetrainDependencies {
  bus: EventBus;
  clock?: Clock;
}

/** Publishes a retrain request on retrain-requested and returns it; a malformed request is refused (EVENT.INVALID) before anything is sent. */
export async function requestRetrain(request: RetrainRequestInput, { bus, clock = systemClock }: RequestRetrainDependencies): Promise<RetrainRequested> {
  const event = parseWith(
    RetrainRequested,
    { ...request, schemaVersion: 1, requestId: request.requestId ?? randomUUID(), requestedAt: clock.now().toISOString() },
    'EVENT.INVALID',
    'retrain request',
  );
  await bus.publish(TOPICS.retrainRequested, event, { model: event.model, requestId: event.requestId });
  return event;
}

/** What {@link triggerRetrain} needs. */
export interface TriggerRetrainDependencies extends RequestRetrainDependencies {
  registry: ModelRegistry;
  store: RetrainStore;
  /** How the request's window query names tables: fully qualified on BigQuery, so a training job runs it as it is. */
  table?: TableNamer;
  /** Told of a `retrain.when` tag that does not parse: the run's drift still counts, the tag is skipped. */
  onInvalidTag?: (model: string, message: string) => void;
}

/** What a run did to one model's retraining. */
export interface RetrainTriggerOutcome {
  model: string;
  holds: boolean;
  episode: 'opened' | 'open' | 'closed' | 'none' | 'stale';
  /** The request published by this run, when it published one. */
  request?: RetrainRequested;
}

/** Why one version asks for a retrain, if it does. */
interface VersionCause {
  version: VersionMonitoring;
  reason: RetrainReason;
  findings: string[];
}

/**
 * Applies a monitoring run to each model's retrain episode: the condition holds for a model when
 * one of its versions drifted (drift, data quality, attributions, fairness) or meets a clause of its
 * `retrain.when` tag. The first run where it holds opens an episode and publishes one request; the
 * first where it does not closes it. A failed run judges nothing.
 */
export async function triggerRetrain(computed: DriftComputed, deps: TriggerRetrainDependencies): Promise<RetrainTriggerOutcome[]> {
  if (computed.status !== 'succeeded') return [];
  const models = [...new Set(computed.versions.map((version) => version.model))];
  const outcomes: RetrainTriggerOutcome[] = [];
  for (const model of models) {
    outcomes.push(
      await triggerModel(
        model,
        computed.versions.filter((version) => version.model === model),
        computed,
        deps,
      ),
    );
  }
  return outcomes;
}

async function triggerModel(
  model: string,
  versions: VersionMonitoring[],
  computed: DriftComputed,
  deps: TriggerRetrainDependencies,
): Promise<RetrainTriggerOutcome> {
  const causes = (await Promise.all(versions.map((version) => causeOf(version, deps)))).filter((cause) => cause !== undefined);
  const cause = causes.find((found) => found.version.aliases.includes(SERVING_ALIAS)) ?? causes[0];
  const at = (deps.clock ?? systemClock).now().toISOString();
  const verdict = { model, holds: cause !== undefined, version: cause?.version.version ?? versions[0]!.version, windowEnd: computed.windowEnd, at };
  const step = await deps.store.stepEpisode(verdict);
  if (step.claimedElsewhere) throw publishPending(model, step.episode!.requestId);
  const episode = episodeState(step, verdict.holds);
  if (!step.publish || !cause || !step.episode) return { model, holds: verdict.holds, episode };
  const request = await requestRetrain(
    {
      requestId: step.episode.requestId,
      model,
      version: cause.version.version,
      reason: cause.reason,
      detail: cause.findings.join('; '),
      window: { start: computed.windowStart, end: computed.windowEnd },
      data: dataOf(cause.version, computed, deps.table ?? warehouseTable),
    },
    deps,
  );
  await deps.store.markPublished(model, request.requestId);
  return { model, holds: true, episode, request };
}

/**
 * Another run (a racing copy, or the first delivery of this one) claimed the publish and has not
 * confirmed it: transient, so Pub/Sub redelivers this run, which then finds it published, or the
 * claim stale and publishes it itself.
 */
function publishPending(model: string, requestId: string): PlatformError {
  return new PlatformError(
    'RETRAIN.PUBLISH_PENDING',
    `Retrain request ${requestId} of ${model} is being published by another run; this run is retried to confirm it went out.`,
    { permanent: false },
  );
}

/** What the step did, as the outcome says it: a run older than the newest seen is `stale`, a model with no episode yet `none`. */
function episodeState({ changed, episode, publish }: EpisodeStep, holds: boolean): RetrainTriggerOutcome['episode'] {
  if (!episode) return 'none';
  if (!changed) return 'stale';
  if (episode.state === 'closed') return 'closed';
  return holds && publish ? 'opened' : 'open';
}

async function causeOf(version: VersionMonitoring, deps: TriggerRetrainDependencies): Promise<VersionCause | undefined> {
  const drift = driftFindings(version);
  const performance = conditionsHolding(await conditionsOf(version, deps), version.performance);
  if (drift.length > 0) return { version, reason: 'drift', findings: [...drift, ...performance] };
  if (performance.length > 0) return { version, reason: 'performance', findings: performance };
  return undefined;
}

/** The version's `retrain.when` clauses, else the model's; none when neither is tagged or the tag does not parse. */
async function conditionsOf({ model, version }: VersionMonitoring, { registry, onInvalidTag }: TriggerRetrainDependencies) {
  const tag = (await registry.getVersion(model, version))?.tags[RETRAIN_WHEN_TAG] ?? (await registry.getModel(model))?.tags[RETRAIN_WHEN_TAG];
  if (tag === undefined) return [];
  try {
    return parseRetrainWhen(tag);
  } catch (error) {
    if (!isPlatformError(error, 'RETRAIN.INVALID_CONDITION')) throw error;
    onInvalidTag?.(model, error.message);
    return [];
  }
}

function dataOf(version: VersionMonitoring, computed: DriftComputed, table: TableNamer): RetrainRequested['data'] {
  const windowQuery = retrainWindowQuery(
    { model: version.model, version: version.version, window: { start: computed.windowStart, end: computed.windowEnd } },
    table,
  );
  const dataset = version.reference.startsWith('dataset:') ? version.reference.slice('dataset:'.length) : undefined;
  return dataset === undefined ? { windowQuery } : { referenceDatasetId: dataset, windowQuery };
}
