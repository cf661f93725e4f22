import type { RunSearch } from '../domain/tracking-filter.js';
import type { Experiment, MetricPoint, Run, RunBatch, RunEndStatus } from '../domain/tracking.js';

/** What a new run starts with. */
export interface RunStart {
  experimentId: string;
  name?: string;
  tags?: Record<string, string>;
}

/**
 * Experiment tracking's store: Firestore. Runs keep params, tags and the latest value of each
 * metric on one document (so search can use them); full metric histories are kept beside it.
 * Artifacts live in the ArtifactStore under `runs/<run id>/artifacts/`.
 */
export interface TrackingStore {
  /** Creates the experiment, or returns the one of that name: safe to call from many processes at once. */
  createExperiment(name: string, tags?: Record<string, string>): Promise<{ experiment: Experiment; created: boolean }>;
  getExperiment(id: string): Promise<Experiment | undefined>;
  getExperimentByName(name: string): Promise<Experiment | undefined>;
  /** Every experiment, by name. */
  listExperiments(): Promise<Experiment[]>;
  /** Starts a RUNNING run in an existing experiment; fails with TRACKING.EXPERIMENT_NOT_FOUND. */
  createRun(start: RunStart): Promise<Run>;
  getRun(runId: string): Promise<Run | undefined>;
  /**
   * Writes params, tags and metric points together. Params are immutable (TRACKING.PARAM_CONFLICT
   * on a changed value); the same `batchId` written twice stores its points once.
   */
  logBatch(runId: string, batch: RunBatch): Promise<void>;
  /** Marks the run ended with a final status and returns it; fails with TRACKING.RUN_NOT_FOUND. */
  endRun(runId: string, status: RunEndStatus): Promise<Run>;
  /** Every point of one metric, by step then timestamp. */
  metricHistory(runId: string, key: string): Promise<MetricPoint[]>;
  /** Runs of the given experiments (all when none are given) matching the filter, in the requested order. */
  searchRuns(search: RunSearch): Promise<Run[]>;
  close(): Promise<void>;
}
