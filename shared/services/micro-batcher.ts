import { performance } from 'node:perf_hooks';
import type { Tensor } from '../domain/model-signature.js';
import { sliceRows, stackRows, stackable } from '../domain/serving/tensor-rows.js';
import type { LoadedModel } from '../ports/model-runner.port.js';

/** How concurrent requests are coalesced into one model run. */
export interface MicroBatchOptions {
  /** Off: every request runs the model on its own. */
  enabled: boolean;
  /** Most rows one coalesced run takes; a request with this many rows or more runs alone. */
  maxRows: number;
  /**
   * Longest a request may wait for others to join its run, in milliseconds. 0 coalesces only the
   * requests that are already waiting (those read in the same turn of the event loop), so it never
   * adds latency; above 0, the wait is taken only while requests arrive closer together than it.
   */
  maxWaitMs: number;
}

/** One request's share of a model run. */
export interface BatchedRun {
  outputs: Record<string, Tensor>;
  /** How long the model run took, in milliseconds (shared by the requests coalesced into it). */
  latencyMs: number;
}

/** Counters for /metrics: runs of the model and the requests and rows they answered. */
export interface MicroBatchStats {
  runs: number;
  requests: number;
  rows: number;
}

interface Job {
  inputs: Record<string, Tensor>;
  rows: number;
  resolve(run: BatchedRun): void;
  reject(error: unknown): void;
}

/** The gap between arrivals assumed before any arrive, and the most one gap counts for: a second. */
const IDLE_GAP_MS = 1000;

/**
 * Coalesces concurrent requests into one model run: their input rows are stacked, the model runs
 * once, and each request gets its own rows of every output. A model run costs nearly the same for
 * one row as for dozens, so under load each request's share of it shrinks with the batch; alone, a
 * request runs as soon as the event loop has read what else already arrived. A coalesced run that
 * fails is retried request by request, so one request's failure is never another's.
 */
export class MicroBatcher {
  readonly stats: MicroBatchStats = { runs: 0, requests: 0, rows: 0 };
  private waiting: Job[] = [];
  private waitingRows = 0;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private lastArrival = Number.NEGATIVE_INFINITY;
  /** Moving average of the time between arrivals: the load the wait adapts to. */
  private meanGapMs = IDLE_GAP_MS;

  constructor(
    private readonly model: Pick<LoadedModel, 'run'>,
    private readonly options: MicroBatchOptions,
  ) {}

  /** Runs the model on `rows` rows of inputs, alone or with other requests'. */
  run(inputs: Record<string, Tensor>, rows: number): Promise<BatchedRun> {
    if (!this.options.enabled || rows >= this.options.maxRows) return this.runOnce(inputs, 1, rows);
    const now = performance.now();
    this.meanGapMs = 0.5 * this.meanGapMs + 0.5 * Math.min(IDLE_GAP_MS, now - this.lastArrival);
    this.lastArrival = now;
    return new Promise((resolve, reject) => {
      if (this.waitingRows + rows > this.options.maxRows) this.flush();
      this.waiting.push({ inputs, rows, resolve, reject });
      this.waitingRows += rows;
      if (this.waitingRows >= this.options.maxRows) this.flush();
      else this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const { maxWaitMs } = this.options;
    // Waiting is worth it only when another request is likely to arrive within the wait.
    if (maxWaitMs > 0 && this.meanGapMs < maxWaitMs) this.timer = setTimeout(() => this.flush(), maxWaitMs);
    else setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const jobs = this.waiting;
    if (jobs.length === 0) return;
    this.waiting = [];
    this.waitingRows = 0;
    if (jobs.length === 1) {
      const [job] = jobs;
      return void this.runOnce(job!.inputs, 1, job!.rows).then(job!.resolve, job!.reject);
    }
    void this.runTogether(jobs);
  }

  private async runTogether(jobs: Job[]): Promise<void> {
    const stacked = stackInputs(jobs);
    if (!stacked) return this.runEach(jobs);
    let run: BatchedRun;
    try {
      run = await this.runOnce(stacked.inputs, jobs.length, stacked.rows);
    } catch {
      return this.runEach(jobs);
    }
    const outputs = Object.entries(run.outputs);
    if (outputs.some(([, tensor]) => tensor.shape[0] !== stacked.rows)) return this.runEach(jobs);
    let start = 0;
    for (const job of jobs) {
      const own: Record<string, Tensor> = {};
      for (const [name, tensor] of outputs) own[name] = sliceRows(tensor, start, start + job.rows);
      start += job.rows;
      job.resolve({ outputs: own, latencyMs: run.latencyMs });
    }
  }

  private async runEach(jobs: Job[]): Promise<void> {
    for (const job of jobs) await this.runOnce(job.inputs, 1, job.rows).then(job.resolve, job.reject);
  }

  private async runOnce(inputs: Record<string, Tensor>, requests: number, rows: number): Promise<BatchedRun> {
    const started = performance.now();
    const outputs = await this.model.run(inputs);
    this.stats.runs++;
    this.stats.requests += requests;
    this.stats.rows += rows;
    return { outputs, latencyMs: performance.now() - started };
  }
}

/** Every request's inputs stacked by name, or undefined when some cannot be (other names, shapes or types). */
function stackInputs(jobs: Job[]): { inputs: Record<string, Tensor>; rows: number } | undefined {
  const names = Object.keys(jobs[0]!.inputs);
  const inputs: Record<string, Tensor> = {};
  for (const name of names) {
    const parts: Tensor[] = [];
    for (const job of jobs) {
      const tensor = job.inputs[name];
      if (!tensor || tensor.shape[0] !== job.rows || Object.keys(job.inputs).length !== names.length) return undefined;
      parts.push(tensor);
    }
    if (!stackable(parts)) return undefined;
    inputs[name] = stackRows(parts);
  }
  let rows = 0;
  for (const job of jobs) rows += job.rows;
  return { inputs, rows };
}
