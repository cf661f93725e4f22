import { createHash, randomUUID } from 'node:crypto';
import { type DocumentReference, Firestore } from '@google-cloud/firestore';
import { PlatformError } from '../../domain/errors.js';
import { compileRunSearch, type RunSearch } from '../../domain/tracking-filter.js';
import {
  DEFAULT_EXPERIMENT,
  type Experiment,
  type MetricPoint,
  mergeMetrics,
  mergeParams,
  newBatchId,
  type Run,
  type RunBatch,
  type RunEndStatus,
  type RunLifecycleStage,
  requireActiveRun,
  sortHistory,
  validateBatchId,
  validateExperimentId,
  validateExperimentName,
  validateRunStatus,
  validateMetricPoint,
  validateParamValue,
  validateRunId,
  validateTagValue,
  validateTrackingKey,
} from '../../domain/tracking.js';
import type { RunStart, RunUpdate, TrackingStore } from '../../ports/tracking-store.port.js';
import { KeyedLock } from './keyed-lock.js';

/** Options of the Firestore tracking store. */
export interface FirestoreTrackingStoreOptions {
  projectId: string;
  databaseId?: string;
  client?: Firestore;
}

/** One stored slice of a metric's history: parallel arrays keep 500 points near 12 KB (the document limit is 1 MiB). */
interface MetricChunk {
  key: string;
  batchId: string;
  steps: number[];
  values: number[];
  timestamps: number[];
}

const POINTS_PER_CHUNK = 500;
// A commit holds at most 500 writes; the byte bound keeps each request far below Firestore's 10 MiB.
const MAX_WRITES_PER_COMMIT = 500;
const MAX_BYTES_PER_COMMIT = 4 * 1024 * 1024;
const BYTES_PER_POINT = 3 * 9;
// Firestore's `in` filter takes at most 30 values.
const IN_LIMIT = 30;
const ALREADY_EXISTS = 6;

/**
 * TrackingStore on Firestore: `experiments/{id}` (the id derives from the name, so create-or-get
 * is race-free), `runs/{runId}` (params, tags, latest metrics, summaries) and
 * `runs/{runId}/metric_chunks/{batchId}-{n}` (history, 500 points a document: 10,000 points are
 * 20 documents to write and read, and a retried batch rewrites the same documents).
 */
export class FirestoreTrackingStore implements TrackingStore {
  private readonly db: Firestore;
  private readonly ownsClient: boolean;
  private readonly runLock = new KeyedLock();

  constructor({ projectId, databaseId = '(default)', client }: FirestoreTrackingStoreOptions) {
    this.ownsClient = !client;
    this.db = client ?? new Firestore({ projectId, databaseId, ignoreUndefinedProperties: true });
  }

  async createExperiment(name: string, tags: Record<string, string> = {}): Promise<{ experiment: Experiment; created: boolean }> {
    const experiment: Experiment = { id: experimentIdFor(validateExperimentName(name)), name, tags: checkedTags(tags), createdAt: new Date().toISOString() };
    const ref = this.db.collection('experiments').doc(experiment.id);
    try {
      await ref.create(experiment);
      return { experiment, created: true };
    } catch (error) {
      if ((error as { code?: number }).code !== ALREADY_EXISTS) throw error;
      return { experiment: (await ref.get()).data() as Experiment, created: false };
    }
  }

  async getExperiment(id: string): Promise<Experiment | undefined> {
    return (await this.db.collection('experiments').doc(validateExperimentId(id)).get()).data() as Experiment | undefined;
  }

  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    return this.getExperiment(experimentIdFor(validateExperimentName(name)));
  }

  async listExperiments(): Promise<Experiment[]> {
    return (await this.db.collection('experiments').orderBy('name').get()).docs.map((doc) => doc.data() as Experiment);
  }

  async createRun({ experimentId, name, tags = {}, startTime = Date.now() }: RunStart): Promise<Run> {
    if (!(await this.getExperiment(experimentId))) {
      throw new PlatformError('TRACKING.EXPERIMENT_NOT_FOUND', `No experiment with id "${experimentId}". Create it first (tracking.experiment(name)).`);
    }
    const id = randomUUID().replaceAll('-', '');
    const run: Run = {
      id,
      experimentId,
      name: name ?? `run-${id.slice(0, 8)}`,
      status: 'RUNNING',
      startTime: isoTime(startTime),
      endTime: null,
      params: {},
      tags: checkedTags(tags),
      metrics: {},
      metricSummaries: {},
    };
    await this.runRef(id).create({ ...run, updatedAt: new Date().toISOString() });
    return run;
  }

  async getRun(runId: string): Promise<Run | undefined> {
    const data = (await this.runRef(runId).get()).data();
    return data ? toRun(data) : undefined;
  }

  async logBatch(runId: string, { params = {}, tags = {}, metrics = [], batchId = newBatchId() }: RunBatch): Promise<void> {
    for (const [key, value] of Object.entries(params)) validateParamValue(validateTrackingKey('param', key), value);
    const checkedTagValues = checkedTags(tags);
    metrics.forEach(validateMetricPoint);
    const [inline = [], ...later] = packCommits(chunkPoints(metrics, validateBatchId(batchId)));
    const ref = this.runRef(runId);
    // The run document and the first commit's chunks change together in one transaction, so the
    // latest values never disagree with the history; params are checked against what is stored.
    await this.runLock.run(runId, () =>
      this.db.runTransaction(async (tx) => {
        const run = (await tx.get(ref)).data() as Run | undefined;
        if (!run) throw runNotFound(runId);
        requireActiveRun(run);
        tx.update(ref, {
          params: mergeParams(runId, run.params, params),
          tags: { ...run.tags, ...checkedTagValues },
          ...mergeMetrics(run, metrics),
          updatedAt: new Date().toISOString(),
        });
        for (const chunk of inline) tx.set(this.chunkRef(runId, chunk.id), chunk.data);
      }),
    );
    // Over 500 chunks: the rest follow in batched writes of at most 500. Their ids are fixed by
    // the batch id, so a caller retrying after a failure here rewrites the same documents.
    for (const commit of later) {
      const batch = this.db.batch();
      for (const chunk of commit) batch.set(this.chunkRef(runId, chunk.id), chunk.data);
      await batch.commit();
    }
  }

  async endRun(runId: string, status: RunEndStatus): Promise<Run> {
    return this.changeRun(runId, (run) => (run.status === status && run.endTime !== null ? run : { ...run, status, endTime: new Date().toISOString() }));
  }

  async updateRun(runId: string, { status, endTime, name }: RunUpdate): Promise<Run> {
    if (status !== undefined) validateRunStatus(status);
    if (name !== undefined && (name.trim() === '' || name.length > 250)) {
      throw new PlatformError('TRACKING.INVALID_VALUE', `Run name ${JSON.stringify(name)} is invalid: use 1-250 characters.`);
    }
    return this.changeRun(runId, (run) => {
      requireActiveRun(run);
      const next: Run = { ...run, status: status ?? run.status, name: name ?? run.name };
      if (endTime !== undefined) next.endTime = endTime === null ? null : isoTime(endTime);
      else if (status === 'RUNNING') next.endTime = null;
      else if (status !== undefined) next.endTime = run.endTime ?? new Date().toISOString();
      return next;
    });
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    validateTrackingKey('tag', key);
    await this.changeRun(runId, (run) => {
      requireActiveRun(run);
      const { [key]: _removed, ...tags } = run.tags;
      return { ...run, tags };
    });
  }

  async setRunLifecycle(runId: string, stage: RunLifecycleStage): Promise<Run> {
    return this.changeRun(runId, (run) => ({ ...run, lifecycleStage: stage }));
  }

  async metricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    const snapshot = await this.runRef(runId).collection('metric_chunks').where('key', '==', validateTrackingKey('metric', key)).get();
    const points = snapshot.docs.flatMap((doc) => {
      const chunk = doc.data() as MetricChunk;
      return chunk.steps.map((step, index) => ({ key, step, value: chunk.values[index]!, timestamp: chunk.timestamps[index]! }));
    });
    return sortHistory(points);
  }

  async searchRuns(search: RunSearch): Promise<Run[]> {
    const select = compileRunSearch(search);
    const ids = (search.experimentIds ?? []).map(validateExperimentId);
    // Firestore narrows by experiment; the filter and ordering then run in memory (domain/tracking-filter),
    // since Firestore cannot combine range filters on several metrics or order by a field it filters
    // differently. Fine for the thousands of runs an experiment holds.
    const runs = this.db.collection('runs');
    const snapshots =
      ids.length === 0 ? [await runs.get()] : await Promise.all(slices(ids, IN_LIMIT).map((slice) => runs.where('experimentId', 'in', slice).get()));
    return select(snapshots.flatMap((snapshot) => snapshot.docs.map((doc) => toRun(doc.data()))));
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.db.terminate();
  }

  /** Reads a run, changes it and writes it back in one transaction (nothing when `change` returns it as it was); fails with TRACKING.RUN_NOT_FOUND. */
  private changeRun(runId: string, change: (run: Run) => Run): Promise<Run> {
    const ref = this.runRef(runId);
    return this.runLock.run(runId, () =>
      this.db.runTransaction(async (tx) => {
        const data = (await tx.get(ref)).data();
        if (!data) throw runNotFound(runId);
        const run = toRun(data);
        const changed = change(run);
        if (changed === run) return run;
        tx.set(ref, { ...changed, updatedAt: new Date().toISOString() });
        return changed;
      }),
    );
  }

  private runRef(runId: string): DocumentReference {
    return this.db.collection('runs').doc(validateRunId(runId));
  }

  private chunkRef(runId: string, chunkId: string): DocumentReference {
    return this.runRef(runId).collection('metric_chunks').doc(chunkId);
  }
}

/**
 * Experiment ids derive from names, so two processes creating "churn" at once create one experiment;
 * the default experiment has MLflow's id for it.
 */
function experimentIdFor(name: string): string {
  if (name === DEFAULT_EXPERIMENT.name) return DEFAULT_EXPERIMENT.id;
  return createHash('sha256').update(name).digest('hex').slice(0, 20);
}

function checkedTags(tags: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(tags)) validateTagValue(validateTrackingKey('tag', key), value);
  return tags;
}

function runNotFound(runId: string): PlatformError {
  return new PlatformError('TRACKING.RUN_NOT_FOUND', `No run with id "${runId}". List runs with: mlops runs list`);
}

function isoTime(ms: number): string {
  const time = new Date(ms);
  if (!Number.isSafeInteger(ms) || ms < 0 || Number.isNaN(time.getTime())) {
    throw new PlatformError('TRACKING.INVALID_VALUE', `Time ${ms} is not milliseconds since the epoch.`);
  }
  return time.toISOString();
}

function toRun({ updatedAt: _updatedAt, ...run }: Record<string, unknown>): Run {
  return run as unknown as Run;
}

/** Splits points into chunks of one metric each, named `<batchId>-<n>` in logging order. */
function chunkPoints(points: MetricPoint[], batchId: string): { id: string; data: MetricChunk; bytes: number }[] {
  const byKey = new Map<string, MetricPoint[]>();
  for (const point of points) {
    const series = byKey.get(point.key);
    if (series) series.push(point);
    else byKey.set(point.key, [point]);
  }
  const chunks = [...byKey.entries()].flatMap(([key, series]) => slices(series, POINTS_PER_CHUNK).map((slice) => ({ key, slice })));
  return chunks.map(({ key, slice }, index) => ({
    id: `${batchId}-${String(index).padStart(5, '0')}`,
    bytes: 200 + key.length + slice.length * BYTES_PER_POINT,
    data: {
      key,
      batchId,
      steps: slice.map((point) => point.step),
      values: slice.map((point) => point.value),
      timestamps: slice.map((point) => point.timestamp),
    },
  }));
}

/** Groups chunk writes into commits of at most 500 writes and 4 MiB; the first keeps a slot for the run document. */
function packCommits<T extends { bytes: number }>(chunks: T[]): T[][] {
  const commits: T[][] = [[]];
  let writes = 1;
  let bytes = 0;
  for (const chunk of chunks) {
    if (writes + 1 > MAX_WRITES_PER_COMMIT || bytes + chunk.bytes > MAX_BYTES_PER_COMMIT) {
      commits.push([]);
      writes = 0;
      bytes = 0;
    }
    commits.at(-1)!.push(chunk);
    writes += 1;
    bytes += chunk.bytes;
  }
  return commits;
}

function slices<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, index) => items.slice(index * size, (index + 1) * size));
}
