import { PubSub, type Message } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PubSubEventBus } from '../../shared/adapters/pubsub/pubsub-event-bus.js';
import type { EventBus } from '../../shared/ports/event-bus.port.js';
import { useEmulators } from '../support/environment.js';

const { projectId } = useEmulators();

/** Every EventBus backend that runs here: Pub/Sub, against Google's emulator. */
const buses: [string, () => EventBus][] = [['pubsub', () => new PubSubEventBus({ projectId })]];

describe.each(buses)('EventBus contract: %s', (_name, create) => {
  const admin = new PubSub({ projectId });
  let bus: EventBus;

  beforeAll(() => {
    bus = create();
  });
  afterAll(async () => {
    await bus.close();
    await admin.close();
  });

  async function topicWithSubscription(): Promise<{ topic: string; received: Message[] }> {
    const topic = `t-${Math.random().toString(36).slice(2)}`;
    const [created] = await admin.createTopic(topic);
    const [subscription] = await created.createSubscription(`${topic}-sub`);
    const received: Message[] = [];
    subscription.on('message', (message: Message) => {
      received.push(message);
      message.ack();
    });
    return { topic, received };
  }

  async function waitFor(received: Message[], count: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (received.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  }

  it('delivers the JSON body and attributes a subscriber reads back', async () => {
    const { topic, received } = await topicWithSubscription();
    const id = await bus.publish(topic, { model: 'churn', version: 3, nested: { ok: true } }, { source: 'test' });
    await waitFor(received, 1);
    expect(id).toMatch(/\S/);
    expect(received).toHaveLength(1);
    expect(JSON.parse(received[0]!.data.toString())).toEqual({ model: 'churn', version: 3, nested: { ok: true } });
    expect(received[0]!.attributes).toEqual({ source: 'test' });
    expect(received[0]!.id).toBe(id);
  });

  it('delivers every one of many concurrent publishes, each with its own id', async () => {
    const { topic, received } = await topicWithSubscription();
    const ids = await Promise.all(Array.from({ length: 200 }, (_, index) => bus.publish(topic, { index })));
    await waitFor(received, 200);
    expect(new Set(ids).size).toBe(200);
    const indexes = received.map((message) => (JSON.parse(message.data.toString()) as { index: number }).index).sort((a, b) => a - b);
    expect(indexes).toEqual(Array.from({ length: 200 }, (_, index) => index));
  });

  it('rejects a publish to a topic that does not exist', async () => {
    await expect(bus.publish('no-such-topic', { x: 1 })).rejects.toThrow(/not found|NOT_FOUND/i);
  });
});
