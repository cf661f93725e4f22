import { randomUUID } from 'node:crypto';
import { type Message, PubSub, type Subscription, type Topic } from '@google-cloud/pubsub';
import { PlatformError } from '../../domain/errors.js';
import { type BusMessage, CORRELATION_ID_ATTRIBUTE, type EventBus, JsonText, type ReplyMatch, type RequestOptions } from '../../ports/event-bus.port.js';

/** Options of the Pub/Sub event bus. */
export interface PubSubEventBusOptions {
  projectId: string;
  /** Reuse a client (tests, the local runner); otherwise one is made. */
  client?: PubSub;
  /** How long a publish may wait to join a batch; 0 sends at once. */
  maxBatchDelayMs?: number;
}

/** The prefix of the temporary subscriptions request() listens on, so a leftover is recognisable. */
const REPLY_SUBSCRIPTION_PREFIX = 'reply-';

// A reply subscription left behind by a process that died expires after a day of no use (Pub/Sub's minimum).
const REPLY_SUBSCRIPTION_TTL_SECONDS = 24 * 3600;

/** EventBus on Pub/Sub; honours PUBSUB_EMULATOR_HOST, so it is the same code locally. */
export class PubSubEventBus implements EventBus {
  private readonly client: PubSub;
  private readonly topics = new Map<string, Topic>();
  private readonly maxBatchDelayMs: number;

  constructor({ projectId, client, maxBatchDelayMs = 5 }: PubSubEventBusOptions) {
    this.client = client ?? new PubSub({ projectId });
    this.maxBatchDelayMs = maxBatchDelayMs;
  }

  async publish(topic: string, data: unknown, attributes: Record<string, string> = {}): Promise<string> {
    const text = data instanceof JsonText ? data.text : JSON.stringify(data);
    return this.topic(topic).publishMessage({ data: Buffer.from(text), attributes });
  }

  async request(topic: string, data: unknown, { replyTopic, match, timeoutMs, attributes = {} }: RequestOptions): Promise<BusMessage> {
    const [subscription] = await this.client.topic(replyTopic).createSubscription(`${REPLY_SUBSCRIPTION_PREFIX}${replyTopic}-${randomUUID()}`, {
      expirationPolicy: { ttl: { seconds: REPLY_SUBSCRIPTION_TTL_SECONDS } },
    });
    const reply = firstReply(subscription, matcherOf(match), { topic, replyTopic, timeoutMs });
    try {
      const correlation: Record<string, string> = typeof match === 'function' ? {} : { [CORRELATION_ID_ATTRIBUTE]: match.correlationId };
      await this.publish(topic, data, { ...attributes, ...correlation });
      return await reply.promise;
    } finally {
      reply.stop();
      await subscription.close().catch(() => undefined);
      await subscription.delete().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.topics.values()].map((topic) => topic.flush()));
    await this.client.close();
  }

  private topic(name: string): Topic {
    let topic = this.topics.get(name);
    if (!topic) {
      topic = this.client.topic(name, { batching: { maxMilliseconds: this.maxBatchDelayMs, maxMessages: 500 } });
      this.topics.set(name, topic);
    }
    return topic;
  }
}

function matcherOf(match: ReplyMatch): (reply: BusMessage) => boolean {
  if (typeof match === 'function') return match;
  return (reply) => reply.attributes[CORRELATION_ID_ATTRIBUTE] === match.correlationId;
}

/** Listens for the first message the matcher accepts; every message is acked (replies to others are not ours to keep). */
function firstReply(
  subscription: Subscription,
  matches: (reply: BusMessage) => boolean,
  { topic, replyTopic, timeoutMs }: { topic: string; replyTopic: string; timeoutMs: number },
): { promise: Promise<BusMessage>; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<BusMessage>((resolve, reject) => {
    timer = setTimeout(() => reject(replyTimeout(topic, replyTopic, timeoutMs)), timeoutMs);
    subscription.on('message', (message: Message) => {
      message.ack();
      const reply = decode(message);
      try {
        if (reply && matches(reply)) resolve(reply);
      } catch (error) {
        reject(error);
      }
    });
    subscription.on('error', reject);
  });
  // The caller awaits only after publishing; a rejection before then must not count as unhandled.
  promise.catch(() => undefined);
  return { promise, stop: () => clearTimeout(timer) };
}

function replyTimeout(topic: string, replyTopic: string, timeoutMs: number): PlatformError {
  return new PlatformError(
    'EVENT.REPLY_TIMEOUT',
    `No reply on ${replyTopic} to the request on ${topic} within ${timeoutMs / 1000} s; it may still be handled.`,
    {
      permanent: false,
      details: { topic, replyTopic, timeoutMs },
    },
  );
}

/** A message as a BusMessage; a body that is not JSON cannot be anyone's reply. */
function decode(message: Message): BusMessage | undefined {
  try {
    return {
      id: message.id,
      data: JSON.parse(message.data.toString('utf8')),
      attributes: message.attributes ?? {},
      publishTime: message.publishTime.toISOString(),
    };
  } catch {
    return undefined;
  }
}
