import { PlatformError } from '../domain/errors.js';
import { DEFAULT_WINDOW_HOURS, type JobDefinition, type JobRun, jobRunId, scheduledMinute } from '../domain/jobs.js';
import type { DriftRunRequested } from '../domain/monitoring-events.js';
import { retrainWindowQuery, type TableNamer, warehouseTable } from '../domain/retrain.js';
import { TOPICS } from '../domain/topics.js';
import type { ArtifactStore } from '../ports/artifact-store.port.js';
import { type Clock, systemClock } from '../ports/clock.port.js';
import type { EventBus } from '../ports/event-bus.port.js';
import type { JobRunStore } from '../ports/job-run-store.port.js';
import type { ModelRegistry } from '../ports/model-registry.port.js';
import type { ModelRunner } from '../ports/model-runner.port.js';
import type { OnlineFeatureStore } from '../ports/online-feature-store.port.js';
import type { Warehouse } from '../ports/warehouse.port.js';
import { materializeFeatures } from './materialize-features.js';
import { requestRetrain } from './retrain-triggers.js';
import { scoreBatch } from './score-batch.js';
import { loadServingModel, type ServingModel } from './serving-model.js';
import { planWarehouseScoring, runsStatements, scoreWithBigQueryMl, shardRequests } from './warehouse-scoring.js';
import { reportLink, writeReports } from './write-reports.js';

/** What runJob works through; each kind uses some of it. */
export interface RunJobDependencies {
  runs: JobRunStore;
  registry: ModelRegistry;
  warehouse: Warehouse;
  artifacts: ArtifactStore;
  bus: EventBus;
  runner: ModelRunner;
  /** Where model files are cached by sha256. */
  cacheDir: string;
  /** The online store, built only when a materialize job runs. */
  onlineStore: () => Promise<OnlineFeatureStore>;
  /** How a retrain request's window query names tables: fully qualified on BigQuery. */
  tables?: TableNamer;
  /** The local dashboard, which serves the reports a report job writes. */
  dashboardUrl?: string;
  clock?: Clock;
  /** Longest a run may take before another worker takes it for lost: the function's timeout. */
  leaseMs?: number;
  /** Rows one score-batch instance scores per second, to size a fan-out's shards under its time limit. */
  rowsPerSecond?: number;
}

/** One firing of a job: the minute it was scheduled for names the run. */
export interface JobFiring {
  scheduledTime: Date;
}

// BENCHMARKS.md, "Batch scoring": the small model scores ~30,000 rows/s in one process on DuckDB.
const ROWS_PER_SECOND = 30_000;
/** Cloud Functions' event-driven limit, 540 s (the run-job FunctionSpec's timeout). */
const DEFAULT_LEASE_MS = 540_000;

/**
 * Runs one firing of a job and records it in `job_runs/{job}@{minute}`: a firing that already succeeded is
 * not run again (its record is returned), and one another worker is running is refused with JOB.RUNNING
 * (retryable), so a redelivered message runs the job at most once at a time. A failed run is recorded with
 * its error and the error is rethrown; the work of every kind is itself idempotent, so a retry adds nothing twice.
 */
export async function runJob(job: JobDefinition, deps: RunJobDependencies, { scheduledTime }: JobFiring): Promise<JobRun> {
  const clock = deps.clock ?? systemClock;
  const id = jobRunId(job.name, scheduledTime);
  const claim = await deps.runs.claim({ id, definition: job, scheduledTime: scheduledTime.toISOString() }, clock.now(), deps.leaseMs ?? DEFAULT_LEASE_MS);
  if (claim.state === 'done') return claim.run;
  if (claim.state === 'busy') {
    throw new PlatformError('JOB.RUNNING', `Job run ${id} started at ${claim.run.startedAt} is still running; this delivery is retried later.`, {
      permanent: false,
    });
  }
  try {
    const report = await KINDS[job.kind](job, deps, { id, scheduledTime, clock });
    return await deps.runs.finish(id, { status: 'succeeded', finishedAt: clock.now().toISOString(), report });
  } catch (error) {
    await deps.runs.finish(id, { status: 'failed', finishedAt: clock.now().toISOString(), error: (error as Error).message });
    throw error;
  }
}

type RunContext = { id: string; scheduledTime: Date; clock: Clock };
type KindRunner = (job: JobDefinition, deps: RunJobDependencies, run: RunContext) => Promise<Record<string, unknown>>;

const KINDS: Record<JobDefinition['kind'], KindRunner> = {
  'batch-score': batchScore,
  drift: async (job, { bus }, { id }) => {
    const request: DriftRunRequested = {
      schemaVersion: 1,
      trigger: 'schedule',
      requestId: id,
      ...(job.model && { model: job.model }),
      ...(job.windowHours && { windowHours: job.windowHours }),
    };
    await bus.publish(TOPICS.monitorSchedule, request);
    return { published: TOPICS.monitorSchedule, requestId: id, model: job.model ?? 'every model with an alias' };
  },
  report: async (job, { warehouse, registry, artifacts, dashboardUrl }, { scheduledTime }) => {
    const hours = job.windowHours ?? DEFAULT_WINDOW_HOURS.report;
    const window = { hours, end: scheduledMinute(scheduledTime) };
    const { written } = await writeReports({ warehouse, registry, artifacts, models: job.model ? [job.model] : undefined, window });
    const reports = written.map(({ model, uri, changed, object }) => ({ model, uri, link: reportLink(object, dashboardUrl), changed }));
    return { windowHours: hours, windowEnd: window.end.toISOString(), reports };
  },
  retrain: retrain,
  materialize: async (job, { warehouse, onlineStore }) => {
    const { dataset, entities, written } = await materializeFeatures({ dataset: job.dataset!, warehouse, store: await onlineStore() });
    return { dataset, entities, written };
  },
};

/**
 * Scores the dataset with the alias's version, as `mlops score` does: on BigQuery inside BigQuery ML, or in shards
 * published to score-batch when the version does not qualify; on DuckDB in this process.
 */
async function batchScore(job: JobDefinition, deps: RunJobDependencies, { id }: RunContext): Promise<Record<string, unknown>> {
  const serving = await servingModel(job, deps);
  try {
    const dataset = job.dataset!;
    const { warehouse } = deps;
    if (!runsStatements(warehouse)) {
      const { model, version, rowsScored, rowsSkipped } = await scoreBatch({ dataset, warehouse, model: serving });
      return { model, version, alias: job.alias, dataset, path: 'in-process', rowsScored, rowsSkipped };
    }
    const plan = await planWarehouseScoring({ dataset, model: serving, warehouse, sizing: { rowsPerSecond: deps.rowsPerSecond ?? ROWS_PER_SECOND } });
    if (plan.path === 'bigquery-ml') return { ...(await scoreWithBigQueryMl(plan, warehouse)), alias: job.alias };
    // Published, not awaited: the shards may together take longer than this run may, and each outcome is on batch-scored.
    const shards = shardRequests(plan, id);
    await Promise.all(shards.map(({ request, key }) => deps.bus.publish(TOPICS.batchScoring, request, { shardKey: key })));
    return {
      model: plan.model,
      version: plan.version,
      alias: job.alias,
      dataset,
      path: plan.path,
      reason: plan.reason,
      shardsPublished: shards.length,
      rows: plan.rows,
    };
  } finally {
    await serving.loaded.close();
  }
}

/** Asks for a retrain of the alias's version on the last `windowHours` of traffic; the request id is the run's, so a retried run asks once. */
async function retrain(job: JobDefinition, { registry, bus, tables = warehouseTable }: RunJobDependencies, { id, scheduledTime, clock }: RunContext) {
  const model = job.model!;
  const record = await registry.getModel(model);
  const version = record?.aliases[job.alias!];
  if (version === undefined) {
    throw new PlatformError(
      'REGISTRY.VERSION_NOT_FOUND',
      `Job "${job.name}": model "${model}" has no "${job.alias}" alias to retrain. Promote a version first.`,
    );
  }
  const details = await registry.getVersion(model, version);
  const hours = job.windowHours ?? DEFAULT_WINDOW_HOURS.retrain;
  const end = scheduledMinute(scheduledTime);
  const window = { start: new Date(end.getTime() - hours * 3_600_000).toISOString(), end: end.toISOString() };
  const request = await requestRetrain(
    {
      requestId: retrainRequestId(id),
      model,
      version,
      reason: 'schedule',
      detail: `scheduled job ${job.name} (${job.schedule})`,
      window,
      data: {
        ...(details?.lineage.datasetId && { referenceDatasetId: details.lineage.datasetId }),
        windowQuery: retrainWindowQuery({ model, version, window }, tables),
      },
    },
    { bus, clock },
  );
  return { requestId: request.requestId, model, version, window };
}

/** A retrain request id from a run id: the request's schema admits letters, digits, dots, dashes and underscores. */
export function retrainRequestId(runId: string): string {
  return runId.replace(/[^A-Za-z0-9._-]/g, '_');
}

function servingModel(job: JobDefinition, { registry, artifacts, runner, cacheDir }: RunJobDependencies): Promise<ServingModel> {
  return loadServingModel({ model: job.model!, alias: job.alias! }, { registry, artifacts, runner, cacheDir });
}
