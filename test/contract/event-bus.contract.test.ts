import { PubSub, type Message } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PubSubEventBus } from '../../shared/adapters/pubsub/pubsub-event-bus.js';
import { isPlatformError } from '../../shared/domain/errors.js';
import type { BusMessage, EventBus } from '../../shared/ports/event-bus.port.js';
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

  /**
   * A request topic with a responder in front of it, as a topic handler with a reply topic is: each
   * request is answered on the reply topic by `answer` (which may publish nothing, or several replies).
   */
  async function responder(
    answer: (request: Message, replyTopic: string) => Promise<void>,
  ): Promise<{ topic: string; replyTopic: string; requests: Message[] }> {
    const { topic, received: requests } = await topicWithSubscription();
    const replyTopic = `${topic}-reply`;
    await admin.createTopic(replyTopic);
    const [subscription] = await admin.topic(topic).createSubscription(`${topic}-responder`);
    subscription.on('message', (message: Message) => {
      message.ack();
      void answer(message, replyTopic);
    });
    return { topic, replyTopic, requests };
  }

  const replySubscriptions = async (replyTopic: string) => (await admin.topic(replyTopic).getSubscriptions())[0].map((subscription) => subscription.name);

  it('request: resolves with the reply carrying its correlation id, which the request was sent with', async () => {
    const { topic, replyTopic } = await responder(async (request, replyTopic) => {
      const { n } = JSON.parse(request.data.toString()) as { n: number };
      await admin.topic(replyTopic).publishMessage({ json: { doubled: n * 2 }, attributes: { correlationId: request.attributes.correlationId! } });
    });
    const reply = await bus.request(topic, { n: 21 }, { replyTopic, match: { correlationId: 'c-1' }, timeoutMs: 10_000, attributes: { source: 'test' } });
    expect(reply.data).toEqual({ doubled: 42 });
    expect(reply.attributes).toEqual({ correlationId: 'c-1' });
    expect(reply.id).toMatch(/\S/);
  });

  it('request: skips replies to other requests, by correlation id or by predicate, and takes the first that matches', async () => {
    const { topic, replyTopic, requests } = await responder(async (request, replyTopic) => {
      const reply = admin.topic(replyTopic);
      await reply.publishMessage({ json: { for: 'someone else' }, attributes: { correlationId: 'other' } });
      await reply.publishMessage({ json: { for: 'nobody' } });
      await reply.publishMessage({ json: { for: 'me', first: true }, attributes: { correlationId: request.attributes.correlationId ?? 'none' } });
      await reply.publishMessage({ json: { for: 'me', first: false }, attributes: { correlationId: request.attributes.correlationId ?? 'none' } });
    });
    const byId = await bus.request(topic, {}, { replyTopic, match: { correlationId: 'mine' }, timeoutMs: 10_000 });
    expect(byId.data).toEqual({ for: 'me', first: true });
    const byPredicate = await bus.request(
      topic,
      {},
      { replyTopic, match: (reply: BusMessage) => (reply.data as { for?: string }).for === 'me', timeoutMs: 10_000 },
    );
    expect(byPredicate.data).toMatchObject({ for: 'me' });
    await waitFor(requests, 2);
    // A predicate sends no correlation id of its own.
    expect(requests.map((request) => request.attributes.correlationId)).toEqual(['mine', undefined]);
  });

  it('request: fails with EVENT.REPLY_TIMEOUT naming the topics and the wait when no matching reply comes', async () => {
    const { topic, replyTopic } = await responder(async (_request, replyTopic) => {
      await admin.topic(replyTopic).publishMessage({ json: { late: false }, attributes: { correlationId: 'not-this-one' } });
    });
    const started = Date.now();
    const error = await bus.request(topic, {}, { replyTopic, match: { correlationId: 'c-2' }, timeoutMs: 1500 }).catch((caught: unknown) => caught);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect(isPlatformError(error, 'EVENT.REPLY_TIMEOUT')).toBe(true);
    expect((error as Error).message).toContain(topic);
    expect((error as Error).message).toContain(replyTopic);
    expect((error as Error).message).toMatch(/1\.5 s/);
    expect(error).toMatchObject({ permanent: false, details: { topic, replyTopic, timeoutMs: 1500 } });
  });

  it('request: removes its reply subscription whether a reply came, none came, or the publish failed', async () => {
    const { topic, replyTopic } = await responder(async (request, replyTopic) => {
      if (JSON.parse(request.data.toString()).answer)
        await admin.topic(replyTopic).publishMessage({ json: {}, attributes: { correlationId: request.attributes.correlationId! } });
    });
    await bus.request(topic, { answer: true }, { replyTopic, match: { correlationId: 'a' }, timeoutMs: 10_000 });
    await expect(bus.request(topic, { answer: false }, { replyTopic, match: { correlationId: 'b' }, timeoutMs: 500 })).rejects.toThrow(/No reply/);
    await expect(bus.request('no-such-topic', {}, { replyTopic, match: { correlationId: 'c' }, timeoutMs: 10_000 })).rejects.toThrow(/not found|NOT_FOUND/i);
    expect(await replySubscriptions(replyTopic)).toEqual([]);
  });
});
