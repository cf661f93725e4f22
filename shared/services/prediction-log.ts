import { randomUUID } from 'node:crypto';
import { ENV } from '../config/env.js';
import type { PredictionRecord, PredictionSource, PredictionsLoggedMessage } from '../domain/events.js';
import { compactPrediction } from '../domain/prediction-rows.js';
import { TOPICS } from '../domain/topics.js';
import { type EventBus, JsonText } from '../ports/event-bus.port.js';
import { OutcomeCounts } from './outcome-counts.js';

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
  /** Longest a changed count of refused or failed requests waits before it is published. */
  outcomeIntervalMs?: number;
  /** This instance's id in the request outcomes it reports; a random one, fixed for the process, by default. */
  instance?: string;
  onNotice?: (notice: PredictionLogNotice) => void;
  now?: () => number;
  /** Wall-clock time (ms since the epoch): the minute a refused request is counted in. */
  wallClock?: () => number;
}

/** What the records of one message share: model, version and source (one per log call, compared by value). */
interface Label {
  model: string;
  version: number;
  source: PredictionRecord['source'];
}

/** Records taken from the queue for one publish. */
interface Batch {
  label: Label;
  texts: string[];
  loggedAt: number[];
  labels: Label[];
  bytes: number;
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

/** The form of the messages the log publishes: compact predictions of one model version and source. */
const SCHEMA_VERSION: PredictionsLoggedMessage['schemaVersion'] = 2;
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
  // Waiting records, oldest first, each serialised as it is logged: serialising a batch at once would hold
  // the event loop for milliseconds, and a string costs the collector less than the record's objects.
  // Beside each, when it was logged and the attributes of the request it came from.
  private queue: string[] = [];
  private loggedAt: number[] = [];
  private labels: Label[] = [];
  private queuedBytes = 0;
  private inFlight = 0;
  private inFlightRecords = 0;
  private inFlightBytes = 0;
  private retryDelay = 0;
  private timer: NodeJS.Timeout | undefined;
  private lastWarningAt = Number.NEGATIVE_INFINITY;
  private lastDropReportAt = Number.NEGATIVE_INFINITY;
  private unreported: { count: number; why: string } | undefined;
  private dropTimer: NodeJS.Timeout | undefined;
  private readonly outcomes = new OutcomeCounts();
  private outcomeTimer: NodeJS.Timeout | undefined;
  private outcomesPublishing: Promise<void> | undefined;
  private readonly settings: Required<Omit<PredictionLogOptions, 'bus' | 'onNotice' | 'instance'>>;
  /** The id this instance reports its request outcomes under. */
  readonly instance: string;
  readonly stats: PredictionLogStats = { logged: 0, published: 0, publishFailures: 0, dropped: 0, buffered: 0, bufferedBytes: 0 };

  constructor(private readonly options: PredictionLogOptions) {
    const { bus: _bus, onNotice: _onNotice, instance = randomUUID(), ...given } = options;
    this.instance = instance;
    this.settings = {
      maxBufferedBytes: 128 * 1024 * 1024,
      batchSize: 1000,
      flushIntervalMs: 50,
      maxConcurrentPublishes: 8,
      retryDelayMs: [100, 5000],
      slowDrainMs: 5000,
      outcomeIntervalMs: 2000,
      now: () => performance.now(),
      wallClock: () => Date.now(),
      ...given,
    };
  }

  /** Queues records; returns at once. */
  log(records: PredictionRecord[]): void {
    const [first] = records;
    if (!first) return;
    const loggedAt = this.settings.now();
    let label: Label = { model: first.model, version: first.version, source: first.source };
    let accepted = 0;
    for (; accepted < records.length; accepted++) {
      const record = records[accepted]!;
      if (!sameLabel(label, record)) label = { model: record.model, version: record.version, source: record.source };
      const text = JSON.stringify(compactPrediction(record));
      if (this.queuedBytes + this.inFlightBytes + text.length > this.settings.maxBufferedBytes) break;
      this.queue.push(text);
      this.loggedAt.push(loggedAt);
      this.labels.push(label);
      this.queuedBytes += text.length;
    }
    this.stats.logged += accepted;
    if (accepted < records.length) this.drop(records.length - accepted, 'the buffer is full');
    this.updateGauges();
    if (this.retryDelay === 0) this.schedule(this.nextFlushDelay());
  }

  /**
   * Counts a refused or failed request of a model version (never its body). The instance's running
   * counts of each minute go to the predictions topic when they changed, at most every
   * `outcomeIntervalMs`, and on flush; each report replaces the last, so a redelivery changes nothing.
   */
  countOutcome(label: { model: string; version: number; source: PredictionSource }, status: number, code: string): void {
    this.outcomes.count(label, status, code, this.settings.wallClock());
    this.scheduleOutcomes();
  }

  /**
   * Publishes everything waiting, retrying as usual, until the queue is empty or `deadlineMs` has
   * passed; what is still waiting then is dropped and reported. Call on shutdown.
   */
  async flush(deadlineMs = 8000): Promise<void> {
    const giveUpAt = this.settings.now() + deadlineMs;
    while ((this.queue.length > 0 || this.inFlight > 0 || this.outcomes.pending) && this.settings.now() < giveUpAt) {
      this.pump();
      if (this.outcomes.pending) void this.publishOutcomes();
      await new Promise((resolve) => setTimeout(resolve, Math.max(5, Math.min(this.retryDelay, giveUpAt - this.settings.now()))));
    }
    if (this.queue.length + this.inFlightRecords > 0) {
      const lost = this.queue.length + this.inFlightRecords;
      this.queue = [];
      this.loggedAt = [];
      this.labels = [];
      this.queuedBytes = 0;
      this.drop(lost, `the topic did not take them within ${deadlineMs} ms of shutdown`);
      this.updateGauges();
    }
    this.reportDrops();
  }

  private scheduleOutcomes(): void {
    this.outcomeTimer ??= setTimeout(() => {
      this.outcomeTimer = undefined;
      void this.publishOutcomes();
    }, this.settings.outcomeIntervalMs).unref();
  }

  /** One publish of the changed counts at a time; what changed meanwhile, or failed, goes on the next. */
  private publishOutcomes(): Promise<void> {
    this.outcomesPublishing ??= this.sendOutcomes().finally(() => {
      this.outcomesPublishing = undefined;
      if (this.outcomes.pending) this.scheduleOutcomes();
    });
    return this.outcomesPublishing;
  }

  private async sendOutcomes(): Promise<void> {
    for (const { model, version, source, outcomes, settle } of this.outcomes.reports(this.settings.wallClock())) {
      const message: PredictionsLoggedMessage = { schemaVersion: SCHEMA_VERSION, model, version, source, predictions: [], instance: this.instance, outcomes };
      try {
        await this.options.bus().publish(TOPICS.predictions, new JsonText(JSON.stringify(message)), { model, version: String(version), count: '0' });
        settle();
      } catch (error) {
        // Transient by assumption: the minute stays changed and goes with the next report.
        this.stats.publishFailures++;
        this.warn('publishing request outcomes failed; retrying', error);
      }
    }
  }

  /** A full batch goes at once; otherwise the waiting records go when the oldest has waited the flush interval. */
  private nextFlushDelay(): number {
    if (this.queue.length >= this.settings.batchSize) return 0;
    const oldest = this.loggedAt[0];
    return oldest === undefined ? this.settings.flushIntervalMs : Math.max(0, oldest + this.settings.flushIntervalMs - this.settings.now());
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
      // A message holds one model version's records from one source: a batch ends where that changes.
      const [label] = this.labels;
      let size = 1;
      while (size < this.settings.batchSize && size < this.labels.length && sameLabel(label!, this.labels[size]!)) size++;
      const batch: Batch = {
        label: label!,
        texts: this.queue.splice(0, size),
        loggedAt: this.loggedAt.splice(0, size),
        labels: this.labels.splice(0, size),
        bytes: 0,
      };
      for (const text of batch.texts) batch.bytes += text.length;
      this.queuedBytes -= batch.bytes;
      this.inFlight++;
      this.inFlightRecords += batch.texts.length;
      this.inFlightBytes += batch.bytes;
      void this.publish(batch).finally(() => {
        this.inFlight--;
        this.inFlightRecords -= batch.texts.length;
        this.inFlightBytes -= batch.bytes;
        this.updateGauges();
        // After a failure, the backoff; otherwise the usual rule, so records go in full batches or once
        // the oldest has waited the flush interval, not in a small message after every publish.
        if (this.queue.length > 0) this.schedule(this.retryDelay > 0 ? this.retryDelay : this.nextFlushDelay());
      });
    }
  }

  private async publish(batch: Batch): Promise<void> {
    const { texts, labels, label } = batch;
    const { model, version, source } = label;
    const head = `{"schemaVersion":${SCHEMA_VERSION},"model":${JSON.stringify(model)},"version":${version},"source":${JSON.stringify(source)}`;
    const message = new JsonText(`${head},"predictions":[${texts.join(',')}]}`);
    try {
      await this.options.bus().publish(TOPICS.predictions, message, { model, version: String(version), count: String(texts.length) });
      this.stats.published += texts.length;
      this.retryDelay = 0;
    } catch (error) {
      // Transient by assumption: the records go back in front, in order, and wait for the backoff.
      this.stats.publishFailures++;
      this.queue.unshift(...texts);
      this.loggedAt.unshift(...batch.loggedAt);
      this.labels.unshift(...labels);
      this.queuedBytes += batch.bytes;
      const [firstDelay, maxDelay] = this.settings.retryDelayMs;
      this.retryDelay = Math.min(maxDelay, this.retryDelay === 0 ? firstDelay : this.retryDelay * 2);
      if (this.stats.publishFailures === 1 || this.retryDelay === maxDelay)
        this.warn(`publishing predictions failed; retrying every ${this.retryDelay} ms at most`, error);
    }
  }

  private warnIfSlow(): void {
    const oldest = this.loggedAt[0];
    if (oldest === undefined) return;
    const waited = this.settings.now() - oldest;
    if (waited > this.settings.slowDrainMs) this.warn(`prediction records have waited ${Math.round(waited)} ms to be published`);
  }

  private warn(message: string, error?: unknown): void {
    const now = this.settings.now();
    if (now - this.lastWarningAt < WARNING_INTERVAL_MS) return;
    this.lastWarningAt = now;
    const oldest = this.loggedAt[0];
    const detail = error instanceof Error ? `: ${error.message}` : '';
    this.options.onNotice?.({
      level: 'WARNING',
      message: `${message}${detail} (${this.queue.length + this.inFlightRecords} waiting)`,
      oldestWaitMs: oldest === undefined ? 0 : now - oldest,
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
    this.stats.bufferedBytes = this.queuedBytes + this.inFlightBytes;
  }
}

function sameLabel(label: Label, other: Label): boolean {
  return label === other || (label.model === other.model && label.version === other.version && label.source === other.source);
}
