import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { type PredictionsLogged as Parsed, PredictionsLogged } from '../../../../shared/domain/events.js';
import type { BusMessage, EventBus } from '../../../../shared/ports/event-bus.port.js';
import { PredictionLog } from '../../../../shared/services/prediction-log.js';

/** A topic that parses what it takes as ingest would, and can be made to fail its next publishes. */
class RecordingTopic implements EventBus {
  readonly messages: Parsed[] = [];
  failuresLeft = 0;

  async publish(_topic: string, data: unknown): Promise<string> {
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw new Error('UNAVAILABLE');
    }
    this.messages.push(PredictionsLogged.parse(JSON.parse(JSON.stringify(data))));
    return String(this.messages.length);
  }

  async request(): Promise<BusMessage> {
    throw new Error('unused');
  }

  async close(): Promise<void> {}
}

const churn = { model: 'churn', version: 3, source: 'online' as const };
const NOW = Date.parse('2026-12-01T12:03:30Z');

describe('PredictionLog request outcomes', () => {
  it("publishes an instance's running counts once they changed, not per request, and again on flush", async () => {
    const topic = new RecordingTopic();
    const log = new PredictionLog({ bus: () => topic, outcomeIntervalMs: 30, instance: 'i-1', wallClock: () => NOW });
    for (let index = 0; index < 5; index++) log.countOutcome(churn, 400, 'MODEL.INVALID_INPUT');
    await sleep(80);
    expect(topic.messages.map((message) => message.outcomes)).toEqual([
      [{ model: 'churn', version: 3, minute: '2026-12-01T12:03:00.000Z', status: 400, code: 'MODEL.INVALID_INPUT', instance: 'i-1', count: 5 }],
    ]);
    log.countOutcome(churn, 400, 'MODEL.INVALID_INPUT');
    await log.flush(1000);
    // The running count, not the increment: the warehouse keeps the latest.
    expect(topic.messages.at(-1)?.outcomes?.[0]?.count).toBe(6);
    expect(topic.messages).toHaveLength(2);
  });

  it('keeps counts whose publish failed and sends them with the next report', async () => {
    const topic = new RecordingTopic();
    topic.failuresLeft = 1;
    const log = new PredictionLog({ bus: () => topic, outcomeIntervalMs: 20, instance: 'i-2', wallClock: () => NOW });
    log.countOutcome(churn, 500, 'INTERNAL');
    await sleep(100);
    expect(log.stats.publishFailures).toBe(1);
    expect(topic.messages.map((message) => message.outcomes?.[0]?.count)).toEqual([1]);
  });

  it("publishes a shadow's predictions with production's id as the compact 6th element", async () => {
    const topic = new RecordingTopic();
    const log = new PredictionLog({ bus: () => topic, flushIntervalMs: 5 });
    const base = { model: 'churn', version: 4, requestTime: '2026-12-01T12:00:00.000Z', latencyMs: 1, features: {}, outputs: {}, source: 'shadow' as const };
    log.log([
      { ...base, predictionId: 's-1', shadowOf: 'p-1' },
      { ...base, predictionId: 's-2' },
    ]);
    await log.flush(1000);
    expect(topic.messages[0]?.predictions.map((record) => [record.predictionId, record.source, record.shadowOf])).toEqual([
      ['s-1', 'shadow', 'p-1'],
      ['s-2', 'shadow', undefined],
    ]);
  });
});
