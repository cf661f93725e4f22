import type { RunSearch } from '../domain/tracking-filter.js';
import type { Experiment, MetricPoint, Run, RunBatch, RunEndStatus, RunLifecycleStage, RunStatus } from '../domain/tracking.js';

/** What a new run starts with. */
export interface RunStart {
  experimentId: string;
  name?: string;
  tags?: Record<string, string>;
  /** When the run started, in ms since the epoch (MLflow's clients send it); now when absent. */
  startTime?: number;
}

/** What {@link TrackingStore.updateRun} changes; absent fields stay as they are. */
export interface RunUpdate {
  /** A final status ends the run (at `endTime`, else when it already ended, else now); RUNNING resumes it. */
  status?: RunStatus;
  /** ms since the epoch; null clears it. */
  endTime?: number | null;
  name?: string;
}

/**
 * Experiment tracking's store: Firestore. Runs keep params, tags and the latest value of each
 * metric on one document (so search can use them); full metric histories are kept beside it.
 * Artifacts live in the ArtifactStore under `runs/<run id>/artifacts/`.
 */
export interface TrackingStore {
  /**
   * Creates the experiment, or returns the one of that name: safe to call from many processes at once.
   * "Default" gets MLflow's id for it, "0" (DEFAULT_EXPERIMENT).
   */
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
   * on a changed value); the same `batchId` written twice stores its points once. A deleted run
   * refuses it (TRACKING.INVALID_VALUE).
   */
  logBatch(runId: string, batch: RunBatch): Promise<void>;
  /** Marks the run ended with a final status and returns it; fails with TRACKING.RUN_NOT_FOUND. */
  endRun(runId: string, status: RunEndStatus): Promise<Run>;
  /** Changes a run's status, end time or name and returns it; fails with TRACKING.RUN_NOT_FOUND, or TRACKING.INVALID_VALUE on a deleted run. */
  updateRun(runId: string, update: RunUpdate): Promise<Run>;
  /** Removes one tag (nothing when it is not set); fails as {@link updateRun}. */
  deleteTag(runId: string, key: string): Promise<void>;
  /** Moves a run to the bin (`deleted`: search leaves it out unless asked) or back (`active`); fails with TRACKING.RUN_NOT_FOUND. */
  setRunLifecycle(runId: string, stage: RunLifecycleStage): Promise<Run>;
  /** Every point of one metric, by step then timestamp. */
  metricHistory(runId: string, key: string): Promise<MetricPoint[]>;
  /** Runs of the given experiments (all when none are given) matching the filter, in the requested order. */
  searchRuns(search: RunSearch): Promise<Run[]>;
  close(): Promise<void>;
}
