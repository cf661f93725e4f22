import { userInfo } from 'node:os';
import { parseConfig } from '../config/config.js';
import type { Experiment, MetricPoint, Run, RunEndStatus } from '../domain/tracking.js';
import type { TrackingStore } from '../ports/tracking-store.port.js';
import { discoverLocalPlatform, requireLocalPlatform } from '../runtime/local-discovery.js';
import { createPlatform, type Platform } from '../runtime/platform.js';
import {
  describeRun,
  listRunArtifacts,
  type NamedRunSearch,
  type RunArtifact,
  type RunDetails,
  readRunArtifact,
  searchRunsByName,
} from '../services/tracking.js';
import { TrackedRun } from './tracked-run.js';
import { ENV } from '../config/env.js';

/** Options of the tracking client. */
export interface TrackingOptions {
  /** How often buffered logs are written in the background; 1000 ms by default. */
  flushIntervalMs?: number;
  /** Buffered metric points that start a write without waiting for the interval; 5000 by default. */
  maxBufferedPoints?: number;
  /** Recorded as the uploader of models registered from runs; $MLOPS_ACTOR or `<user>@sdk` by default. */
  actor?: string;
}

/** What a run starts with. */
export interface StartRunOptions {
  /** Experiment name; created when it does not exist yet. */
  experiment: string;
  name?: string;
  tags?: Record<string, string>;
}

/**
 * Experiment tracking for training code, MLflow-like: experiments, runs, params, metrics with
 * full history, tags, artifacts, and models registered with lineage back to their run.
 */
export class Tracking {
  private readonly active = new Set<TrackedRun>();
  private store?: Promise<TrackingStore>;

  /** `ready` runs before the first store call: a check that the platform is there (see createTracking). */
  constructor(
    readonly platform: Platform,
    private readonly ownsPlatform: boolean,
    private readonly options: TrackingOptions = {},
    private readonly ready: () => Promise<void> = async () => undefined,
  ) {}

  /** Creates the experiment, or returns the existing one of that name. */
  async experiment(name: string, tags?: Record<string, string>): Promise<Experiment> {
    return (await (await this.tracking()).createExperiment(name, tags)).experiment;
  }

  /** Starts a run in an experiment (created if needed). End it with `run.end()`, or use `withRun`. */
  async startRun({ experiment, name, tags }: StartRunOptions): Promise<TrackedRun> {
    const store = await this.tracking();
    const { id: experimentId } = await this.experiment(experiment);
    const run = new TrackedRun(await store.createRun({ experimentId, name, tags }), {
      store,
      artifacts: () => this.platform.artifacts(),
      registry: () => this.platform.registry(),
      actor: this.options.actor ?? process.env[ENV.actor] ?? `${userInfo().username}@sdk`,
      flushIntervalMs: this.options.flushIntervalMs ?? 1000,
      maxBufferedPoints: this.options.maxBufferedPoints ?? 5000,
      onEnd: (ended) => this.active.delete(ended),
    });
    this.active.add(run);
    return run;
  }

  /** Runs `work` in a new run, ending it FINISHED when work resolves and FAILED when it throws. */
  async withRun<T>(options: StartRunOptions, work: (run: TrackedRun) => Promise<T>): Promise<T> {
    const run = await this.startRun(options);
    let status: RunEndStatus = 'FAILED';
    try {
      const result = await work(run);
      status = 'FINISHED';
      return result;
    } finally {
      // When work threw, its error is the one worth seeing; a failure to end the run must not hide it.
      if (status === 'FAILED') await run.end(status).catch(() => undefined);
      else await run.end(status);
    }
  }

  /** A run as stored, or undefined. */
  async getRun(runId: string): Promise<Run | undefined> {
    return (await this.tracking()).getRun(runId);
  }

  /** A run with its experiment, artifacts and the model versions registered from it. */
  async describeRun(runId: string): Promise<RunDetails> {
    const [tracking, artifacts, registry] = await Promise.all([this.tracking(), this.platform.artifacts(), this.platform.registry()]);
    return describeRun(runId, { tracking, artifacts, registry });
  }

  /** Runs matching a filter such as `metrics.auc > 0.8 and params.lr = 0.1`, in the requested order. */
  async searchRuns(search: NamedRunSearch = {}): Promise<Run[]> {
    return searchRunsByName(await this.tracking(), search);
  }

  /** Every logged value of one metric of a run, by step. */
  async metricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    return (await this.tracking()).metricHistory(runId, key);
  }

  /** A run's stored artifacts. */
  async listArtifacts(runId: string): Promise<RunArtifact[]> {
    return listRunArtifacts(await this.platform.artifacts(), runId);
  }

  /** The bytes of one artifact of a run. */
  async readArtifact(runId: string, path: string): Promise<Uint8Array> {
    return readRunArtifact(await this.platform.artifacts(), runId, path);
  }

  /** Writes every active run's buffered logs (runs stay RUNNING) and closes the platform when this client made it. */
  async close(): Promise<void> {
    const flushed = await Promise.allSettled(
      [...this.active].map((run) => {
        run.detach();
        return run.flush();
      }),
    );
    if (this.ownsPlatform) await this.platform.close();
    const failed = flushed.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private tracking(): Promise<TrackingStore> {
    this.store ??= this.ready().then(() => this.platform.trackingStore());
    return this.store;
  }
}

/**
 * A tracking client. Without a platform it builds one from the environment and closes it on
 * `close()`; on the local profile it finds the running `npm start` as the CLI does (see
 * discoverLocalPlatform) and, when none answers, says in one line what to start or set.
 */
export function createTracking(platform?: Platform, options?: TrackingOptions): Tracking {
  if (platform) return new Tracking(platform, false, options);
  const local = discoverLocalPlatform(process.env);
  return new Tracking(createPlatform(parseConfig(process.env)), true, options, local && (() => requireLocalPlatform(local)));
}
