import { PlatformError } from './errors.js';

/** Where a run is in its life; the last three are final. */
export type RunStatus = 'RUNNING' | 'FINISHED' | 'FAILED' | 'KILLED';

/** Whether a run is shown (`active`) or in the bin (`deleted`, restorable), as MLflow's lifecycle stages. */
export type RunLifecycleStage = 'active' | 'deleted';

/** The statuses a run may end with. */
export const RUN_END_STATUSES = ['FINISHED', 'FAILED', 'KILLED'] as const;

/** A final run status. */
export type RunEndStatus = (typeof RUN_END_STATUSES)[number];

/** A named group of runs, such as every training run of one model. */
export interface Experiment {
  id: string;
  name: string;
  tags: Record<string, string>;
  createdAt: string;
}

/** One logged value of a metric: `step` orders the history, `timestamp` (ms since epoch) breaks ties. */
export interface MetricPoint {
  key: string;
  value: number;
  step: number;
  timestamp: number;
}

/** What the run keeps about each metric besides its latest value. */
export interface MetricSummary {
  step: number;
  timestamp: number;
  min: number;
  max: number;
}

/** One training run: its parameters, tags, and the latest value of each metric (the full history is kept apart). */
export interface Run {
  id: string;
  experimentId: string;
  name: string;
  status: RunStatus;
  startTime: string;
  endTime: string | null;
  params: Record<string, string>;
  tags: Record<string, string>;
  /** Latest value of each metric (highest step, then latest timestamp), kept on the run so search can filter and order by it. */
  metrics: Record<string, number>;
  metricSummaries: Record<string, MetricSummary>;
  /** Absent on runs that were never deleted: active. */
  lifecycleStage?: RunLifecycleStage;
}

/** One write to a run: params, tags and metric points together, like MLflow's log-batch. */
export interface RunBatch {
  params?: Record<string, string>;
  tags?: Record<string, string>;
  metrics?: MetricPoint[];
  /** Names the batch so a retried write lands on the same documents instead of duplicating points. */
  batchId?: string;
}

/** The experiment every MLflow client logs to when none is set: it exists without being created. */
export const DEFAULT_EXPERIMENT = { id: '0', name: 'Default' } as const;

const KEY = /^[A-Za-z0-9_\-./: ]{1,250}$/;
const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_PARAM_VALUE = 6000;
const MAX_TAG_VALUE = 8000;

/** Checks a param, tag or metric key: 1-250 letters, digits, `_ - . / :` or spaces, never a path escape. */
export function validateTrackingKey(kind: 'param' | 'tag' | 'metric', key: string): string {
  // Firestore reserves field names like __name__; ".." would escape an artifact folder.
  if (!KEY.test(key) || /^__.*__$/.test(key) || key.split('/').some((part) => part === '..')) {
    throw new PlatformError('NAME.INVALID', `The ${kind} key ${JSON.stringify(key)} is invalid: use 1-250 letters, digits, "_", "-", ".", "/", ":" or spaces.`);
  }
  return key;
}

/** Checks a param value (stored as text, at most 6000 characters, as in MLflow). */
export function validateParamValue(key: string, value: string): string {
  if (value.length > MAX_PARAM_VALUE)
    throw new PlatformError('TRACKING.INVALID_VALUE', `Param "${key}" is ${value.length} characters long; the limit is ${MAX_PARAM_VALUE}.`);
  return value;
}

/** Checks a tag value (at most 8000 characters). */
export function validateTagValue(key: string, value: string): string {
  if (value.length > MAX_TAG_VALUE)
    throw new PlatformError('TRACKING.INVALID_VALUE', `Tag "${key}" is ${value.length} characters long; the limit is ${MAX_TAG_VALUE}.`);
  return value;
}

/** Checks a metric point: a finite value, a whole step, a timestamp in ms since the epoch. */
export function validateMetricPoint(point: MetricPoint): MetricPoint {
  validateTrackingKey('metric', point.key);
  if (typeof point.value !== 'number' || !Number.isFinite(point.value)) {
    throw new PlatformError('TRACKING.INVALID_VALUE', `Metric "${point.key}" value ${String(point.value)} is not a finite number.`);
  }
  if (!Number.isSafeInteger(point.step)) throw new PlatformError('TRACKING.INVALID_VALUE', `Metric "${point.key}" step ${point.step} is not a whole number.`);
  if (!Number.isSafeInteger(point.timestamp) || point.timestamp < 0) {
    throw new PlatformError('TRACKING.INVALID_VALUE', `Metric "${point.key}" timestamp ${point.timestamp} is not milliseconds since the epoch.`);
  }
  return point;
}

/** Checks an experiment name: 1-250 characters, no control characters, not blank. */
export function validateExperimentName(name: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused.
  if (name.trim() === '' || name.length > 250 || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new PlatformError('NAME.INVALID', `Experiment name ${JSON.stringify(name)} is invalid: use 1-250 printable characters.`);
  }
  return name;
}

/** Checks a run id: it becomes a Firestore document id and a bucket path segment. */
export function validateRunId(id: string): string {
  if (!RUN_ID.test(id)) throw new PlatformError('NAME.INVALID', `Run id ${JSON.stringify(id)} is invalid: expected letters, digits, "_" or "-".`);
  return id;
}

/** Checks an experiment id (a Firestore document id). */
export function validateExperimentId(id: string): string {
  if (!RUN_ID.test(id)) throw new PlatformError('NAME.INVALID', `Experiment id ${JSON.stringify(id)} is invalid: expected letters, digits, "_" or "-".`);
  return id;
}

/** Checks a batch id given by a caller; it names the documents a batch's points are stored in. */
export function validateBatchId(id: string): string {
  if (!RUN_ID.test(id)) throw new PlatformError('NAME.INVALID', `Batch id ${JSON.stringify(id)} is invalid: expected 1-64 letters, digits, "_" or "-".`);
  return id;
}

/** A new batch id: the time first, so a run's batches sort in the order they were made. */
export function newBatchId(now = Date.now()): string {
  return `${String(now).padStart(15, '0')}-${globalThis.crypto.randomUUID().slice(0, 8)}`;
}

/** Checks a run status: one of {@link RUN_END_STATUSES}, or RUNNING (a run resumed). */
export function validateRunStatus(status: string): RunStatus {
  if (status === 'RUNNING') return status;
  if (!(RUN_END_STATUSES as readonly string[]).includes(status)) {
    throw new PlatformError('TRACKING.INVALID_VALUE', `Run status ${JSON.stringify(status)} is invalid: use RUNNING, ${RUN_END_STATUSES.join(', ')}.`);
  }
  return status as RunStatus;
}

/** Refuses a write to a deleted run, as MLflow does: it must be restored first. */
export function requireActiveRun(run: Pick<Run, 'id' | 'lifecycleStage'>): void {
  if (run.lifecycleStage === 'deleted') {
    throw new PlatformError('TRACKING.INVALID_VALUE', `Run ${run.id} is deleted: restore it (MLflow's runs/restore) before writing to it.`);
  }
}

/** Checks a final run status. */
export function validateEndStatus(status: string): RunEndStatus {
  if (!(RUN_END_STATUSES as readonly string[]).includes(status)) {
    throw new PlatformError('TRACKING.INVALID_VALUE', `Run status ${JSON.stringify(status)} is invalid: use ${RUN_END_STATUSES.join(', ')}.`);
  }
  return status as RunEndStatus;
}

/** Checks an artifact path inside a run: relative, `/`-separated, no empty, `.` or `..` segments. */
export function validateArtifactPath(path: string): string {
  const segments = path.split('/');
  if (path.length === 0 || path.length > 1024 || path.includes('\\') || segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new PlatformError('NAME.INVALID', `Artifact path ${JSON.stringify(path)} is invalid: use a relative path such as "plots/roc.png".`);
  }
  return path;
}

/** The artifact store prefix of a run's artifacts. Outside `models/`, so storing them never triggers registration. */
export function runArtifactPrefix(runId: string): string {
  return `runs/${validateRunId(runId)}/artifacts/`;
}

/** Whether point `a` comes after point `b` in a metric's history: higher step, then later (or equal, so the last logged wins). */
function isLater(a: { step: number; timestamp: number }, b: { step: number; timestamp: number }): boolean {
  return a.step > b.step || (a.step === b.step && a.timestamp >= b.timestamp);
}

/**
 * Folds new points into a run's latest metrics and summaries. Idempotent: folding the same points
 * twice (a retried batch) changes nothing, so no count is kept.
 */
export function mergeMetrics(
  run: Pick<Run, 'metrics' | 'metricSummaries'>,
  points: MetricPoint[],
): { metrics: Record<string, number>; metricSummaries: Record<string, MetricSummary> } {
  const metrics = { ...run.metrics };
  const metricSummaries = { ...run.metricSummaries };
  for (const point of points) {
    const known = metricSummaries[point.key];
    if (!known) {
      metricSummaries[point.key] = { step: point.step, timestamp: point.timestamp, min: point.value, max: point.value };
      metrics[point.key] = point.value;
      continue;
    }
    const later = isLater(point, known);
    metricSummaries[point.key] = {
      step: later ? point.step : known.step,
      timestamp: later ? point.timestamp : known.timestamp,
      min: Math.min(known.min, point.value),
      max: Math.max(known.max, point.value),
    };
    if (later) metrics[point.key] = point.value;
  }
  return { metrics, metricSummaries };
}

/** Merges params into a run's, refusing to change one already set: params are immutable, as in MLflow. */
export function mergeParams(runId: string, current: Record<string, string>, next: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(next)) {
    const existing = current[key];
    if (existing !== undefined && existing !== value) {
      throw new PlatformError(
        'TRACKING.PARAM_CONFLICT',
        `Param "${key}" of run ${runId} is already ${JSON.stringify(existing)}; params cannot change (got ${JSON.stringify(value)}). Log it under another key or start a new run.`,
      );
    }
  }
  return { ...current, ...next };
}

/** Orders a metric's history by step, then timestamp; equal points keep the order they were logged in. */
export function sortHistory(points: MetricPoint[]): MetricPoint[] {
  return [...points].sort((a, b) => a.step - b.step || a.timestamp - b.timestamp);
}
