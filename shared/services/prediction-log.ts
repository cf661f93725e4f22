import { TOPICS } from '../../infra/stack.js';
import type { PredictionRecord, PredictionsLogged } from '../domain/events.js';
import type { EventBus } from '../ports/event-bus.port.js';

/** Options of the prediction log. */
export interface PredictionLogOptions {
  bus: () => EventBus;
  /** Records held at most; beyond it new records are dropped and counted, never blocking a response. */
  capacity?: number;
  /** Records per published message. */
  batchSize?: number;
  /** Longest a record waits before its batch is sent. */
  flushIntervalMs?: number;
  onPublishError?: (error: unknown, lost: number) => void;
}

/** Counters the serving /metrics endpoint reports. */
export interface PredictionLogStats {
  logged: number;
  published: number;
  publishFailures: number;
  dropped: number;
  buffered: number;
}

/**
 * Publishes prediction records to the predictions topic in batches, off the response path, from
 * a bounded buffer. A failed publish never fails a prediction: it is counted and reported, and
 * the batch is retried once on the next flush before being given up.
 */
export class PredictionLog {
  private buffer: PredictionRecord[] = [];
  private retry: PredictionRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private readonly capacity: number;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  readonly stats: PredictionLogStats = { logged: 0, published: 0, publishFailures: 0, dropped: 0, buffered: 0 };

  constructor(private readonly options: PredictionLogOptions) {
    this.capacity = options.capacity ?? 50_000;
    this.batchSize = options.batchSize ?? 500;
    this.flushIntervalMs = options.flushIntervalMs ?? 50;
  }

  /** Queues records; returns at once. */
  log(records: PredictionRecord[]): void {
    const room = this.capacity - this.buffer.length - this.retry.length;
    const accepted = room >= records.length ? records : records.slice(0, Math.max(0, room));
    this.stats.dropped += records.length - accepted.length;
    this.stats.logged += accepted.length;
    for (const record of accepted) this.buffer.push(record);
    this.stats.buffered = this.buffer.length + this.retry.length;
    if (this.buffer.length >= this.batchSize) this.flushSoon(0);
    else this.flushSoon(this.flushIntervalMs);
  }

  /** Sends everything buffered; resolves when every publish has settled. Call on shutdown. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.inFlight = this.inFlight.then(() => this.publishAll());
    await this.inFlight;
  }

  private flushSoon(delayMs: number): void {
    if (this.timer && delayMs > 0) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.flush(), delayMs);
    this.timer.unref();
  }

  private async publishAll(): Promise<void> {
    const pending = [...this.retry, ...this.buffer];
    const retried = this.retry.length;
    this.retry = [];
    this.buffer = [];
    const sends: Promise<void>[] = [];
    for (let start = 0; start < pending.length; start += this.batchSize) {
      const batch = pending.slice(start, start + this.batchSize);
      sends.push(this.publish(batch, start < retried));
    }
    await Promise.all(sends);
    this.stats.buffered = this.buffer.length + this.retry.length;
  }

  private async publish(batch: PredictionRecord[], isRetry: boolean): Promise<void> {
    const message: PredictionsLogged = { schemaVersion: 1, predictions: batch };
    try {
      await this.options
        .bus()
        .publish(TOPICS.predictions, message, { model: batch[0]!.model, version: String(batch[0]!.version), count: String(batch.length) });
      this.stats.published += batch.length;
    } catch (error) {
      this.stats.publishFailures++;
      if (isRetry) this.stats.dropped += batch.length;
      else this.retry.push(...batch);
      this.options.onPublishError?.(error, isRetry ? batch.length : 0);
      if (!isRetry) this.flushSoon(1000);
    }
  }
}
