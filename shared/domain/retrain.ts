import { z } from 'zod';
import { PlatformError } from './errors.js';
import type { VersionMonitoring } from './monitoring-events.js';

/** Why a retrain was asked for: drift alerts, a `retrain.when` condition on performance, a scheduled job, or a person. */
export const RetrainReason = z.enum(['drift', 'performance', 'schedule', 'manual']);
export type RetrainReason = z.infer<typeof RetrainReason>;

const isoTime = z.string().datetime({ offset: true });

/**
 * A request to retrain a model, on retrain-requested. `requestId` is deterministic per model and
 * episode, so a redelivered drift run publishes the same request and each target gets it once.
 */
export const RetrainRequested = z.object({
  schemaVersion: z.literal(1),
  requestId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, 'use letters, digits, dots, dashes or underscores (it names a folder in the bucket)'),
  model: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/),
  version: z.number().int().positive(),
  reason: RetrainReason,
  detail: z.string(),
  window: z.object({ start: isoTime, end: isoTime }),
  data: z.object({
    /** The dataset the version is monitored against, when its reference is one. */
    referenceDatasetId: z.string().optional(),
    /** SQL a training job runs on the warehouse: the window's predictions joined to their ground truth. */
    windowQuery: z.string(),
    /** gs:// URI of the window exported as NDJSON, once deliver-retrain has written it. */
    windowExport: z.string().optional(),
  }),
  requestedAt: isoTime,
});
export type RetrainRequested = z.infer<typeof RetrainRequested>;

/** The tag naming when a model retrains on its performance, e.g. `accuracy<0.85,rmse>2.5`. */
export const RETRAIN_WHEN_TAG = 'retrain.when';

/** One `retrain.when` clause: the metric of the run's performance, the comparison and its threshold. */
export interface RetrainCondition {
  metric: string;
  operator: '<' | '<=' | '>' | '>=';
  threshold: number;
}

const CLAUSE = /^([a-z][a-z0-9_]*)\s*(<=|>=|<|>)\s*(-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)$/i;

/** Parses a `retrain.when` tag: clauses joined by `,`, any of which holding asks for a retrain. */
export function parseRetrainWhen(text: string): RetrainCondition[] {
  const clauses = text.split(',').map((clause) => clause.trim());
  return clauses.map((clause) => {
    const match = CLAUSE.exec(clause);
    if (!match) {
      throw new PlatformError(
        'RETRAIN.INVALID_CONDITION',
        `Tag ${RETRAIN_WHEN_TAG}=${JSON.stringify(text)} is invalid at ${JSON.stringify(clause)}: write <metric><op><number> with op one of < <= > >=, several joined by "," (e.g. "accuracy<0.85,rmse>2.5").`,
      );
    }
    return { metric: match[1]!.toLowerCase(), operator: match[2] as RetrainCondition['operator'], threshold: Number(match[3]) };
  });
}

/** The clauses that hold on a run's performance, each as a readable sentence; a metric the run could not measure holds nothing. */
export function conditionsHolding(conditions: RetrainCondition[], performance: Record<string, number | null>): string[] {
  return conditions.filter((condition) => holds(condition, performance[condition.metric])).map(describeCondition(performance));
}

function holds({ operator, threshold }: RetrainCondition, value: number | null | undefined): boolean {
  if (value === null || value === undefined || !Number.isFinite(value)) return false;
  if (operator === '<') return value < threshold;
  if (operator === '<=') return value <= threshold;
  if (operator === '>') return value > threshold;
  return value >= threshold;
}

const describeCondition =
  (performance: Record<string, number | null>) =>
  ({ metric, operator, threshold }: RetrainCondition): string =>
    `${metric} ${round(performance[metric]!)} ${operator} ${threshold}`;

/** What drifted for a version in a run (feature drift, the dataset, data quality, attributions, fairness), each as a readable sentence. */
export function driftFindings(version: VersionMonitoring): string[] {
  const features = version.features
    .filter((feature) => feature.drifted)
    .map((feature) => `feature ${feature.feature} drifted (${feature.method} ${round(feature.value)})`);
  const dataset = version.datasetDrift.drifted ? [`dataset drift: share ${round(version.datasetDrift.share)} of features drifted`] : [];
  const quality = (version.quality?.checks ?? [])
    .filter((check) => check.crossed)
    .map((check) => `data quality ${check.check} on ${check.feature} (${round(check.value)})`);
  const attributions = (version.attributions?.features ?? [])
    .filter((feature) => feature.drifted)
    .map((feature) => `attribution of ${feature.feature} moved (${round(feature.value)})`);
  const ranking = version.attributions?.ndcg?.drifted ? [`feature importance ranking changed (nDCG ${round(version.attributions.ndcg.value)})`] : [];
  const fairness = (version.fairness?.attributes ?? []).flatMap((attribute) =>
    attribute.comparisons
      .filter((comparison) => comparison.flagged)
      .map((comparison) => `fairness ${comparison.metric} on ${attribute.attribute} (${round(comparison.value ?? 0)})`),
  );
  return [...features, ...dataset, ...quality, ...attributions, ...ranking, ...fairness];
}

const round = (value: number): string => String(Number(value.toPrecision(4)));

/** A model's retrain episode: open from the first run where its condition holds to the first where it does not. */
export interface RetrainEpisode {
  model: string;
  state: 'open' | 'closed';
  /** The request the episode published (or will: `published` is false until the publish succeeded). */
  requestId: string;
  published: boolean;
  /** When a run claimed the publish of the request: while that claim is fresh, no other run publishes it. */
  claimedAt?: string;
  version: number;
  openedAt: string;
  closedAt?: string;
  /** End of the newest run's window seen: a run older than it changes nothing. */
  lastWindowEnd: string;
}

/**
 * What a run does to a model's episode: whether this run must publish the episode's request (it
 * holds the claim), or another run's fresh claim on it is still unconfirmed (`claimedElsewhere`).
 */
export interface EpisodeStep {
  episode: RetrainEpisode | undefined;
  publish: boolean;
  changed: boolean;
  claimedElsewhere: boolean;
}

/** A run's verdict for one model: whether the condition holds, and on which version; `at` is when it is judged. */
export interface RunVerdict {
  model: string;
  holds: boolean;
  version: number;
  windowEnd: string;
  at: string;
}

/** How long a claim to publish stands before another run may take it over (the claimant may have died before publishing). */
export const PUBLISH_CLAIM_MS = 60_000;

/**
 * The episode rule. A run where the condition holds opens an episode unless one is open; a run where
 * it does not closes it. A run older than the newest seen is ignored (a late redelivery must not
 * close a newer episode). The run that opens an episode claims its publish; an open episode whose
 * request is still unpublished is claimed again, under the same request id, once the claim is stale.
 */
export function stepEpisode(previous: RetrainEpisode | undefined, verdict: RunVerdict): EpisodeStep {
  const step = (episode: RetrainEpisode | undefined, changed: boolean, publish = false, claimedElsewhere = false): EpisodeStep => ({
    episode,
    publish,
    changed,
    claimedElsewhere,
  });
  if (previous && verdict.windowEnd < previous.lastWindowEnd) return step(previous, false);
  const seen = { lastWindowEnd: verdict.windowEnd };
  if (previous?.state === 'open') {
    if (!verdict.holds) return step({ ...previous, ...seen, state: 'closed', closedAt: verdict.windowEnd }, true);
    if (previous.published) return step({ ...previous, ...seen }, true);
    if (claimFresh(previous, verdict.at)) return step({ ...previous, ...seen }, true, false, true);
    return step({ ...previous, ...seen, claimedAt: verdict.at }, true, true);
  }
  if (!verdict.holds) return step(previous && { ...previous, ...seen }, previous !== undefined);
  const opened: RetrainEpisode = {
    model: verdict.model,
    state: 'open',
    requestId: episodeRequestId(verdict.model, verdict.windowEnd),
    published: false,
    claimedAt: verdict.at,
    version: verdict.version,
    openedAt: verdict.windowEnd,
    lastWindowEnd: verdict.windowEnd,
  };
  return step(opened, true, true);
}

const claimFresh = ({ claimedAt }: RetrainEpisode, at: string): boolean => claimedAt !== undefined && Date.parse(at) - Date.parse(claimedAt) < PUBLISH_CLAIM_MS;

/** The request id of the episode a run ending at `windowEnd` opened: the same for a redelivery or a concurrent copy of that run. */
export function episodeRequestId(model: string, windowEnd: string): string {
  return `${model}-${new Date(windowEnd).toISOString().replace(/[-:.]/g, '')}`;
}

/** Where deliver-retrain exports a request's window in the bucket. */
export function windowExportPath(request: Pick<RetrainRequested, 'model' | 'requestId'>): string {
  return `retrain/${request.model}/${request.requestId}/window.jsonl`;
}

/** Names a warehouse table in a query a training job runs: fully qualified on BigQuery. */
export type TableNamer = (table: string) => string;

/** The `{{table}}` form a {@link Warehouse} qualifies itself. */
export const warehouseTable: TableNamer = (table) => `{{${table}}}`;

/**
 * SQL selecting a window's predictions of one version (online and batch, not shadow copies) with
 * their ground truth, where it has arrived. Values are inlined, so the query runs as it is; they are
 * safe to inline because the request's schema admits only a model name, a whole version and ISO times.
 */
export function retrainWindowQuery(request: Pick<RetrainRequested, 'model' | 'version' | 'window'>, table: TableNamer = warehouseTable): string {
  const start = new Date(request.window.start).toISOString();
  const end = new Date(request.window.end).toISOString();
  return (
    'SELECT p.prediction_id, p.request_time, p.features, p.outputs, p.entity_id, g.label, g.value, g.observed_time ' +
    `FROM ${table('predictions')} AS p LEFT JOIN ${table('ground_truth')} AS g ON g.prediction_id = p.prediction_id ` +
    `WHERE p.model = '${request.model}' AND p.version = ${request.version} AND p.source <> 'shadow' ` +
    `AND p.request_time >= TIMESTAMP '${start}' AND p.request_time < TIMESTAMP '${end}' ORDER BY p.request_time, p.prediction_id`
  );
}
