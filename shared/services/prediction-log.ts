import { ENV } from '../config/env.js';
import type { PredictionRecord, PredictionsLogged } from '../domain/events.js';
import { TOPICS } from '../domain/topics.js';
import type { EventBus } from '../ports/event-bus.port.js';

/** What the log reports: a slow drain (warning) or records it had to give up (error). */
export type PredictionLogNotice =
  | { level: 'WARNING'; message: string; oldestWaitMs: number; buffered: number }
  | { level: 'ERROR'; message: string; dropped: number; error?: unknown };

/** Options of the prediction log. */
export interface PredictionLogOptions {
  bus: () => EventBus;
  /**
   * Memory the waiting records may take, in bytes (as serialised). Past it new records are dropped,
   * counted and reported as an error, never blocking a response. The default, 128 MiB, holds about
   * 45 s of this machine's full one-row serving rate (~9,000 predictions/s at ~330 bytes each).
   */
  maxBufferedBytes?: number;
  /** Records per published message. */
  batchSize?: number;
  /** Longest a record waits before its batch is sent. */
  flushIntervalMs?: number;
  /** Batches published at once; the rest wait in order. */
  maxConcurrentPublishes?: number;
  /** Backoff after a failed publish: doubles from the first value up to the second. */
  retryDelayMs?: [first: number, max: number];
  /** A warning is reported when the oldest waiting record is older than this. */
  slowDrainMs?: number;
  onNotice?: (notice: PredictionLogNotice) => void;
  now?: () => number;
}

/** Counters the serving /metrics endpoint reports. */
export interface PredictionLogStats {
  logged: number;
  published: number;
  publishFailures: number;
  dropped: number;
  buffered: number;
  bufferedBytes: number;
}

/** A record waiting to be published, with when it was logged. */
interface Waiting {
  record: PredictionRecord;
  loggedAt: number;
}

/** Until the first publish measures them, records are assumed this large. */
const INITIAL_RECORD_BYTES = 1024;
/** Warnings about a slow drain are repeated at most this often. */
const WARNING_INTERVAL_MS = 10_000;
/** Drops are reported at most this often, each report counting every drop since the last. */
const DROP_REPORT_INTERVAL_MS = 1000;

/**
 * Publishes prediction records to the predictions topic in batches, off the response path. A failed
 * or stalled publish never fails a prediction and never loses it: the batch goes back to the front
 * of the queue and is retried with backoff until the topic takes it. Only records beyond the memory
 * budget are dropped, and every drop is reported with its count.
 */
export class PredictionLog {
  private queue: Waiting[] = [];
  private inFlight = 0;
  private inFlightRecords = 0;
  private bytesPerRecord = INITIAL_RECORD_BYTES;
  private retryDelay = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastWarningAt = Number.NEGATIVE_INFINITY;
  private lastDropReportAt = Number.NEGATIVE_INFINITY;
  private unreported: { count: number; why: string } | undefined;
  private dropTimer: NodeJS.Timeout | undefined;
  private readonly settings: Required<Omit<PredictionLogOptions, 'bus' | 'onNotice'>>;
  readonly stats: PredictionLogStats = { logged: 0, published: 0, publishFailures: 0, dropped: 0, buffered: 0, bufferedBytes: 0 };

  constructor(private readonly options: PredictionLogOptions) {
    const { bus: _bus, onNotice: _onNotice, ...given } = options;
    this.settings = {
      maxBufferedBytes: 128 * 1024 * 1024,
      batchSize: 500,
      flushIntervalMs: 50,
      maxConcurrentPublishes: 8,
      retryDelayMs: [100, 5000],
      slowDrainMs: 5000,
      now: () => performance.now(),
      ...given,
    };
  }

  /** Queues records; returns at once. */
  log(records: PredictionRecord[]): void {
    const room = Math.floor(this.settings.maxBufferedBytes / this.bytesPerRecord) - this.queue.length - this.inFlightRecords;
    const accepted = room >= records.length ? records : records.slice(0, Math.max(0, room));
    const loggedAt = this.settings.now();
    for (const record of accepted) this.queue.push({ record, loggedAt });
    this.stats.logged += accepted.length;
    if (accepted.length < records.length) this.drop(records.length - accepted.length, 'the buffer is full');
    this.updateGauges();
    if (this.retryDelay === 0) this.schedule(this.queue.length >= this.settings.batchSize ? 0 : this.settings.flushIntervalMs);
  }

  /**
   * Publishes everything waiting, retrying as usual, until the queue is empty or `deadlineMs` has
   * passed; what is still waiting then is dropped and reported. Call on shutdown.
   */
  async flush(deadlineMs = 8000): Promise<void> {
    const giveUpAt = this.settings.now() + deadlineMs;
    while ((this.queue.length > 0 || this.inFlight > 0) && this.settings.now() < giveUpAt) {
      this.pump();
      await new Promise((resolve) => setTimeout(resolve, Math.max(5, Math.min(this.retryDelay, giveUpAt - this.settings.now()))));
    }
    if (this.queue.length + this.inFlightRecords > 0) {
      const lost = this.queue.length + this.inFlightRecords;
      this.queue = [];
      this.drop(lost, `the topic did not take them within ${deadlineMs} ms of shutdown`);
      this.updateGauges();
    }
    this.reportDrops();
  }

  private schedule(delayMs: number): void {
    if (this.timer) {
      if (delayMs > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, delayMs);
    this.timer.unref();
  }

  /** Starts publishes, oldest records first, while there is room for more in flight. */
  private pump(): void {
    this.warnIfSlow();
    while (this.queue.length > 0 && this.inFlight < this.settings.maxConcurrentPublishes) {
      const batch = this.queue.splice(0, this.settings.batchSize);
      this.inFlight++;
      this.inFlightRecords += batch.length;
      void this.publish(batch).finally(() => {
        this.inFlight--;
        this.inFlightRecords -= batch.length;
        this.updateGauges();
        if (this.queue.length > 0) this.schedule(this.retryDelay);
      });
    }
  }

  private async publish(batch: Waiting[]): Promise<void> {
    const predictions = batch.map((waiting) => waiting.record);
    const message: PredictionsLogged = { schemaVersion: 1, predictions };
    const [first] = predictions;
    try {
      await this.options.bus().publish(TOPICS.predictions, message, { model: first!.model, version: String(first!.version), count: String(batch.length) });
      this.stats.published += batch.length;
      this.retryDelay = 0;
      // The serialised size, measured off the hot path, keeps the byte budget honest.
      this.bytesPerRecord = Math.max(64, Math.ceil(JSON.stringify(message).length / batch.length));
    } catch (error) {
      // Transient by assumption: the records go back in front, in order, and wait for the backoff.
      this.stats.publishFailures++;
      this.queue.unshift(...batch);
      const [firstDelay, maxDelay] = this.settings.retryDelayMs;
      this.retryDelay = Math.min(maxDelay, this.retryDelay === 0 ? firstDelay : this.retryDelay * 2);
      if (this.stats.publishFailures === 1 || this.retryDelay === maxDelay)
        this.warn(`publishing predictions failed; retrying every ${this.retryDelay} ms at most`, error);
    }
  }

  private warnIfSlow(): void {
    const oldest = this.queue[0];
    if (!oldest) return;
    const waited = this.settings.now() - oldest.loggedAt;
    if (waited > this.settings.slowDrainMs) this.warn(`prediction records have waited ${Math.round(waited)} ms to be published`);
  }

  private warn(message: string, error?: unknown): void {
    const now = this.settings.now();
    if (now - this.lastWarningAt < WARNING_INTERVAL_MS) return;
    this.lastWarningAt = now;
    const oldest = this.queue[0];
    const detail = error instanceof Error ? `: ${error.message}` : '';
    this.options.onNotice?.({
      level: 'WARNING',
      message: `${message}${detail} (${this.queue.length + this.inFlightRecords} waiting)`,
      oldestWaitMs: oldest ? now - oldest.loggedAt : 0,
      buffered: this.queue.length + this.inFlightRecords,
    });
  }

  /** Counts a drop and reports it: at once, or with the others of the same second. */
  private drop(count: number, why: string): void {
    this.stats.dropped += count;
    this.unreported = { count: (this.unreported?.count ?? 0) + count, why };
    const wait = this.lastDropReportAt + DROP_REPORT_INTERVAL_MS - this.settings.now();
    if (wait <= 0) this.reportDrops();
    else this.dropTimer ??= setTimeout(() => this.reportDrops(), wait).unref();
  }

  private reportDrops(): void {
    if (this.dropTimer) clearTimeout(this.dropTimer);
    this.dropTimer = undefined;
    if (!this.unreported) return;
    const { count, why } = this.unreported;
    this.unreported = undefined;
    this.lastDropReportAt = this.settings.now();
    const budget = `${Math.round(this.settings.maxBufferedBytes / 1024 / 1024)} MiB`;
    this.options.onNotice?.({
      level: 'ERROR',
      message: `${count} prediction records dropped: ${why} (budget ${budget}, ${ENV.predictionLogBufferMb})`,
      dropped: count,
    });
  }

  private updateGauges(): void {
    this.stats.buffered = this.queue.length + this.inFlightRecords;
    this.stats.bufferedBytes = this.stats.buffered * this.bytesPerRecord;
  }
}
