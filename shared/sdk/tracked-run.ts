import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { isPlatformError, PlatformError } from '../domain/errors.js';
import { validateModelName } from '../domain/names.js';
import type { ModelVersion } from '../domain/registry.js';
import { newModelObjectName } from '../domain/upload-metadata.js';
import {
  type MetricPoint,
  mergeParams,
  newBatchId,
  type Run,
  type RunBatch,
  type RunEndStatus,
  validateEndStatus,
  validateMetricPoint,
  validateParamValue,
  validateTagValue,
  validateTrackingKey,
} from '../domain/tracking.js';
import type { ArtifactStore, StoredObject } from '../ports/artifact-store.port.js';
import type { ModelRegistry } from '../ports/model-registry.port.js';
import type { TrackingStore } from '../ports/tracking-store.port.js';
import { putRunArtifact } from '../services/tracking.js';
import { lineageMetadata, waitForVersion } from './model-upload.js';

/** What a run logs through. */
export interface TrackedRunDeps {
  store: TrackingStore;
  artifacts: () => Promise<ArtifactStore>;
  registry: () => Promise<ModelRegistry>;
  actor: string;
  flushIntervalMs: number;
  maxBufferedPoints: number;
  onEnd: (run: TrackedRun) => void;
}

/** Options of `registerModel`. */
export interface RegisterModelOptions {
  /** Wait until register-model made the version (default), or return once uploaded. */
  wait?: boolean;
  timeoutMs?: number;
  description?: string;
}

/** A model file uploaded from a run, and the version it became (when waited for). */
export interface RegisteredModel {
  uri: string;
  generation: string;
  version?: ModelVersion;
}

type Pending = Required<Omit<RunBatch, 'batchId'>>;
const empty = (): Pending => ({ params: {}, tags: {}, metrics: [] });

/**
 * An active run. Logging calls validate at once and return immediately; writes are buffered and
 * flushed together in the background (every `flushIntervalMs`, or sooner when many points wait),
 * on `flush()` and on `end()`. A write that fails transiently is retried with the next flush.
 */
export class TrackedRun {
  readonly id: string;
  readonly experimentId: string;
  readonly name: string;
  private pending = empty();
  private retry?: RunBatch;
  private writing: Promise<void> = Promise.resolve();
  private queued = 0;
  private lost?: unknown;
  private ended = false;
  private readonly params = new Map<string, string>();
  private readonly nextStep = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    run: Run,
    private readonly deps: TrackedRunDeps,
  ) {
    this.id = run.id;
    this.experimentId = run.experimentId;
    this.name = run.name;
    this.timer = setInterval(() => {
      if (this.queued === 0 && (this.retry || hasWork(this.pending))) this.flushInBackground();
    }, deps.flushIntervalMs);
    // Buffered logs must not keep a finished script alive; end() or flush() writes them.
    this.timer.unref();
  }

  /** Logs a parameter; params are immutable, so a different value for the same key throws TRACKING.PARAM_CONFLICT. */
  logParam(key: string, value: string | number | boolean): void {
    this.checkOpen();
    const text = validateParamValue(validateTrackingKey('param', key), String(value));
    mergeParams(this.id, Object.fromEntries(this.params), { [key]: text });
    this.params.set(key, text);
    this.pending.params[key] = text;
  }

  /** Logs several parameters. */
  logParams(params: Record<string, string | number | boolean>): void {
    for (const [key, value] of Object.entries(params)) this.logParam(key, value);
  }

  /** Sets a tag; unlike params, tags may change. */
  setTag(key: string, value: string | number | boolean): void {
    this.checkOpen();
    this.pending.tags[key] = validateTagValue(validateTrackingKey('tag', key), String(value));
  }

  /** Sets several tags. */
  setTags(tags: Record<string, string | number | boolean>): void {
    for (const [key, value] of Object.entries(tags)) this.setTag(key, value);
  }

  /** Logs one value of a metric; every value is kept. `step` defaults to one past the last step logged for that metric (0 first). */
  logMetric(key: string, value: number, step?: number): void {
    this.checkOpen();
    const point: MetricPoint = validateMetricPoint({ key, value, step: step ?? this.nextStep.get(key) ?? 0, timestamp: Date.now() });
    this.nextStep.set(key, Math.max(point.step + 1, this.nextStep.get(key) ?? 0));
    this.pending.metrics.push(point);
    if (this.pending.metrics.length >= this.deps.maxBufferedPoints && this.queued === 0) this.flushInBackground();
  }

  /** Logs several metrics at one step. */
  logMetrics(metrics: Record<string, number>, step?: number): void {
    for (const [key, value] of Object.entries(metrics)) this.logMetric(key, value, step);
  }

  /** Writes everything buffered now. Throws when a write fails, or when an earlier background write was refused for good. */
  async flush(): Promise<void> {
    await this.enqueueWrite();
    const lost = this.lost;
    this.lost = undefined;
    if (lost) throw lost;
  }

  /**
   * Stores a local file under the run's artifacts, as MLflow does: `artifactPath` names a folder
   * inside the run (`logArtifact('roc.png', 'plots')` stores `plots/roc.png`).
   */
  async logArtifact(localPath: string, artifactPath?: string): Promise<StoredObject> {
    if (!(await stat(localPath)).isFile()) throw new PlatformError('NAME.INVALID', `${localPath} is not a file; log a folder with logArtifacts().`);
    return this.putFile(localPath, joinPath(artifactPath, basename(localPath)));
  }

  /** Stores every file of a local folder under the run's artifacts, keeping its layout below `artifactPath`. */
  async logArtifacts(localFolder: string, artifactPath?: string): Promise<StoredObject[]> {
    const entries = await readdir(localFolder, { recursive: true, withFileTypes: true });
    const files = entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
    const stored: StoredObject[] = [];
    for (const file of files.sort()) stored.push(await this.putFile(file, joinPath(artifactPath, relative(localFolder, file).split(sep).join('/'))));
    return stored;
  }

  /**
   * Uploads an ONNX file to `models/<name>/<unique>/model.onnx` with this run's id (and its params
   * and latest metrics) as metadata, so the version register-model makes links back to the run.
   */
  async registerModel(file: string, modelName: string, { wait = true, timeoutMs = 30_000, description }: RegisterModelOptions = {}): Promise<RegisteredModel> {
    const name = validateModelName(modelName);
    if (!(await stat(file).catch(() => undefined))?.isFile()) throw new PlatformError('ARTIFACT.NOT_FOUND', `Cannot read model file ${file}.`);
    await this.flush();
    const run = await this.deps.store.getRun(this.id);
    const objectName = newModelObjectName(name, randomUUID().slice(0, 8));
    const object = await (await this.deps.artifacts()).put(objectName, createReadStream(file), {
      contentType: 'application/octet-stream',
      metadata: lineageMetadata({ runId: this.id, uploader: this.deps.actor, description, params: run?.params ?? {}, metrics: run?.metrics ?? {} }),
    });
    if (!wait) return { uri: object.uri, generation: object.generation };
    return { uri: object.uri, generation: object.generation, version: await waitForVersion(await this.deps.registry(), name, this.id, object, timeoutMs) };
  }

  /** Writes what is buffered and ends the run with a final status (FINISHED by default). */
  async end(status: RunEndStatus = 'FINISHED'): Promise<Run> {
    validateEndStatus(status);
    this.ended = true;
    clearInterval(this.timer);
    // The run ends with the status asked for even when the last write failed; that failure is then thrown.
    const failure = await this.flush().then(
      () => undefined,
      (error: unknown) => ({ error }),
    );
    const run = await this.deps.store.endRun(this.id, status);
    this.deps.onEnd(this);
    if (failure) throw failure.error;
    return run;
  }

  /** Stops background writes (buffered logs stay until flush() or end()); Tracking.close() calls it before closing the platform. */
  detach(): void {
    clearInterval(this.timer);
  }

  private putFile(localPath: string, artifactPath: string): Promise<StoredObject> {
    return this.deps.artifacts().then((artifacts) => putRunArtifact(artifacts, this.id, artifactPath, createReadStream(localPath)));
  }

  private flushInBackground(): void {
    // A transient failure is retried by the next write; a permanent one is reported by the next flush().
    this.enqueueWrite().catch((error: unknown) => {
      if (isPlatformError(error) && error.permanent) this.lost = error;
    });
  }

  private enqueueWrite(): Promise<void> {
    this.queued++;
    const write = this.writing.then(() => this.writeOnce()).finally(() => this.queued--);
    this.writing = write.catch(() => undefined);
    return write;
  }

  private async writeOnce(): Promise<void> {
    if (this.retry) {
      const retry = this.retry;
      this.retry = undefined;
      await this.send(retry);
    }
    if (!hasWork(this.pending)) return;
    const batch: RunBatch = { ...this.pending, batchId: newBatchId() };
    this.pending = empty();
    await this.send(batch);
  }

  private async send(batch: RunBatch): Promise<void> {
    try {
      await this.deps.store.logBatch(this.id, batch);
    } catch (error) {
      // A refusal (a param changed elsewhere, the run gone) can never succeed, so the batch is
      // dropped. Anything else is retried with the same batch id, so no point is stored twice.
      if (!(isPlatformError(error) && error.permanent)) this.retry = batch;
      throw error;
    }
  }

  private checkOpen(): void {
    if (this.ended) throw new PlatformError('TRACKING.RUN_ENDED', `Run ${this.id} has ended; start a new run to log more.`);
  }
}

function hasWork(pending: Pending): boolean {
  return pending.metrics.length > 0 || Object.keys(pending.params).length > 0 || Object.keys(pending.tags).length > 0;
}

function joinPath(folder: string | undefined, name: string): string {
  const trimmed = folder?.replace(/^\/+|\/+$/g, '');
  return trimmed ? `${trimmed}/${name}` : name;
}
