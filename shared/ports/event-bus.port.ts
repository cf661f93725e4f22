/** A message as a subscriber sees it: decoded JSON body plus string attributes. */
export interface BusMessage {
  id: string;
  data: unknown;
  attributes: Record<string, string>;
  publishTime?: string;
}

/** Publishes JSON events to named topics. Pub/Sub in both places: the emulator locally. */
export interface EventBus {
  /** Publishes one JSON-serialisable event and resolves with the message id once it is accepted. */
  publish(topic: string, data: unknown, attributes?: Record<string, string>): Promise<string>;
  /** Flushes pending batches and releases connections. */
  close(): Promise<void>;
}
