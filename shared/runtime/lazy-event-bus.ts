import type { BusMessage, EventBus, RequestOptions } from '../ports/event-bus.port.js';

/**
 * An EventBus whose backend is built on its first publish or request. The Pub/Sub client is one of
 * the heaviest modules a process can load, and a serving revision first publishes after its first
 * answer: loading it then keeps it off the cold start.
 */
export class LazyEventBus implements EventBus {
  private backend: Promise<EventBus> | undefined;

  constructor(private readonly make: () => Promise<EventBus>) {}

  async publish(topic: string, data: unknown, attributes?: Record<string, string>): Promise<string> {
    return (await this.built()).publish(topic, data, attributes);
  }

  async request(topic: string, data: unknown, options: RequestOptions): Promise<BusMessage> {
    return (await this.built()).request(topic, data, options);
  }

  /** Closes the backend if one was built; a bus never used has nothing to release. */
  async close(): Promise<void> {
    const backend = this.backend;
    this.backend = undefined;
    if (backend) await (await backend).close();
  }

  private built(): Promise<EventBus> {
    this.backend ??= this.make();
    return this.backend;
  }
}
