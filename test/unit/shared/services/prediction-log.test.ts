import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { type PredictionRecord, PredictionsLogged } from '../../../../shared/domain/events.js';
import type { BusMessage, EventBus } from '../../../../shared/ports/event-bus.port.js';
import { PredictionLog, type PredictionLogNotice } from '../../../../shared/services/prediction-log.js';

const record = (index: number): PredictionRecord =>
  ({
    predictionId: `p-${index}`,
    model: 'churn',
    version: 1,
    requestTime: '2026-12-01T12:00:00.000Z',
    features: { tenure: index },
    outputs: { probability: 0.5 },
    latencyMs: 1,
    source: 'online',
  }) as PredictionRecord;
const records = (from: number, count: number) => Array.from({ length: count }, (_, index) => record(from + index));

/** A topic whose publishes can be made to fail or to hang until released; it keeps what it took, in order. */
class ControllableTopic implements EventBus {
  readonly received: string[] = [];
  calls = 0;
  failuresLeft = 0;
  /** How long each publish takes. */
  delayMs = 0;
  private stall: Promise<void> | undefined;
  private release: (() => void) | undefined;

  stallNow(): void {
    this.stall = new Promise((resolve) => {
      this.release = resolve;
    });
  }

  resume(): void {
    this.release?.();
    this.stall = undefined;
  }

  async publish(_topic: string, data: unknown): Promise<string> {
    this.calls++;
    if (this.delayMs > 0) await sleep(this.delayMs);
    if (this.stall) await this.stall;
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw new Error('UNAVAILABLE: topic unreachable');
    }
    // The log hands over JSON text; serialising it gives back the message as any bus would send it.
    const message = PredictionsLogged.parse(JSON.parse(JSON.stringify(data)));
    this.received.push(...message.predictions.map((item) => item.predictionId));
    return String(this.calls);
  }

  async request(): Promise<BusMessage> {
    throw new Error('the prediction log never waits for a reply');
  }

  async close(): Promise<void> {}
}

const until = async (condition: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
};

describe('PredictionLog', () => {
  it('loses nothing while the topic stalls, keeps the order, and warns once records wait too long', async () => {
    const topic = new ControllableTopic();
    const notices: PredictionLogNotice[] = [];
    const log = new PredictionLog({ bus: () => topic, batchSize: 100, flushIntervalMs: 2, slowDrainMs: 50, onNotice: (notice) => notices.push(notice) });
    topic.stallNow();
    for (let batch = 0; batch < 40; batch++) {
      log.log(records(batch * 100, 100));
      await sleep(3);
    }
    expect(log.stats.buffered).toBe(4000);
    topic.resume();
    await log.flush(5000);
    expect(topic.received).toEqual(records(0, 4000).map((item) => item.predictionId));
    expect(log.stats).toMatchObject({ logged: 4000, published: 4000, dropped: 0, buffered: 0 });
    expect(notices.filter((notice) => notice.level === 'WARNING').map((notice) => notice.message)).toEqual([
      expect.stringMatching(/prediction records have waited \d+ ms to be published/),
    ]);
  });

  it('retries failed publishes with backoff until the topic takes them', async () => {
    const topic = new ControllableTopic();
    topic.failuresLeft = 6;
    const log = new PredictionLog({ bus: () => topic, batchSize: 50, flushIntervalMs: 1, maxConcurrentPublishes: 1, retryDelayMs: [2, 20] });
    log.log(records(0, 200));
    await until(() => log.stats.published === 200);
    expect(topic.received).toEqual(records(0, 200).map((item) => item.predictionId));
    expect(log.stats).toMatchObject({ publishFailures: 6, dropped: 0 });
  });

  it('drops only beyond its memory budget, and reports every dropped record in an error', async () => {
    const topic = new ControllableTopic();
    const notices: PredictionLogNotice[] = [];
    topic.stallNow();
    // Records are counted at their serialised size: measured by a log of its own, the budget holds exactly the first 100.
    const measuring = new PredictionLog({ bus: () => topic, flushIntervalMs: 60_000 });
    measuring.log(records(0, 100));
    const budget = measuring.stats.bufferedBytes;
    const log = new PredictionLog({ bus: () => topic, maxBufferedBytes: budget, flushIntervalMs: 1, onNotice: (notice) => notices.push(notice) });
    for (let index = 0; index < 30; index++) log.log(records(index * 10, 10));
    expect(log.stats).toMatchObject({ logged: 100, dropped: 200 });
    topic.resume();
    await log.flush(2000);
    const errors = notices.filter((notice) => notice.level === 'ERROR');
    expect(errors.reduce((sum, notice) => sum + (notice.level === 'ERROR' ? notice.dropped : 0), 0)).toBe(200);
    expect(errors[0]?.message).toMatch(/prediction records dropped: the buffer is full \(budget 0 MiB, MLOPS_PREDICTION_LOG_BUFFER_MB\)/);
    expect(topic.received).toEqual(records(0, 100).map((item) => item.predictionId));
  });

  it('sends full batches or what waited the flush interval, not a small message after every publish', async () => {
    const topic = new ControllableTopic();
    topic.delayMs = 10;
    const log = new PredictionLog({ bus: () => topic, flushIntervalMs: 100 });
    const started = Date.now();
    let logged = 0;
    while (Date.now() - started < 500) {
      log.log(records(logged++, 1));
      await sleep(2);
    }
    await log.flush();
    // About one message per flush interval; a publish every time the previous one returned would be dozens.
    expect(topic.calls).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 100) + 2);
    expect(topic.received).toEqual(records(0, logged).map((item) => item.predictionId));
  });

  it('measures records once published, so the budget counts real bytes', async () => {
    const topic = new ControllableTopic();
    const log = new PredictionLog({ bus: () => topic, flushIntervalMs: 1 });
    log.log(records(0, 10));
    await log.flush();
    topic.stallNow();
    log.log(records(10, 10));
    const perRecord = log.stats.bufferedBytes / log.stats.buffered;
    expect(perRecord).toBeGreaterThan(40);
    expect(perRecord).toBeLessThan(400);
    topic.resume();
    await log.flush();
  });

  it('gives up at shutdown only after its deadline, saying how many records were lost', async () => {
    const topic = new ControllableTopic();
    const notices: PredictionLogNotice[] = [];
    topic.stallNow();
    const log = new PredictionLog({ bus: () => topic, flushIntervalMs: 1, onNotice: (notice) => notices.push(notice) });
    log.log(records(0, 30));
    const started = Date.now();
    await log.flush(100);
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
    expect(log.stats.dropped).toBe(30);
    expect(notices.find((notice) => notice.level === 'ERROR')?.message).toMatch(
      /^30 prediction records dropped: the topic did not take them within 100 ms of shutdown/,
    );
    topic.resume();
  });
});
