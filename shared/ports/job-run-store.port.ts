import type { JobDefinition, JobRun, JobRunClaim } from '../domain/jobs.js';

/** How a claimed run ended. */
export interface JobRunOutcome {
  status: 'succeeded' | 'failed';
  finishedAt: string;
  report?: Record<string, unknown>;
  error?: string;
}

/** The record of scheduled job runs (`job_runs/{id}`): one per job and scheduled minute. */
export interface JobRunStore {
  /**
   * Atomically decides and records a run (see claimRun): two workers given the same run never both
   * claim it while the lease holds, and a succeeded run is never claimed again.
   */
  claim(run: { id: string; definition: JobDefinition; scheduledTime: string }, now: Date, leaseMs: number): Promise<JobRunClaim>;
  /** Records how a claimed run ended. */
  finish(id: string, outcome: JobRunOutcome): Promise<JobRun>;
  get(id: string): Promise<JobRun | undefined>;
  /** Each named job's latest run (by scheduled time); jobs never run are absent. */
  latest(jobs: readonly string[]): Promise<Map<string, JobRun>>;
  close(): Promise<void>;
}
