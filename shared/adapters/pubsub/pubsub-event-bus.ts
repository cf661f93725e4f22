import { PubSub, type Topic } from '@google-cloud/pubsub';
import type { EventBus } from '../../ports/event-bus.port.js';

/** Options of the Pub/Sub event bus. */
export interface PubSubEventBusOptions {
  projectId: string;
  /** Reuse a client (tests, the local runner); otherwise one is made. */
  client?: PubSub;
  /** How long a publish may wait to join a batch; 0 sends at once. */
  maxBatchDelayMs?: number;
}

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
    return this.topic(topic).publishMessage({ data: Buffer.from(JSON.stringify(data)), attributes });
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
