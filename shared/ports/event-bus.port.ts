/** A message as a subscriber sees it: decoded JSON body plus string attributes. */
export interface BusMessage {
  id: string;
  data: unknown;
  attributes: Record<string, string>;
  publishTime?: string;
}

/** The attribute that ties a reply to its request: a request carries it, and the handler copies it onto its outcome. */
export const CORRELATION_ID_ATTRIBUTE = 'correlationId';

/** Which reply answers a request: the one carrying this correlation id (sent with the request), or one a predicate picks. */
export type ReplyMatch = { correlationId: string } | ((reply: BusMessage) => boolean);

/** Options of a request/reply call. */
export interface RequestOptions {
  /** The topic the outcome is published on. */
  replyTopic: string;
  /** Which reply is this request's; replies to other requests on the same topic are skipped. */
  match: ReplyMatch;
  /** How long to wait for the reply; then the call fails with EVENT.REPLY_TIMEOUT (the request may still be handled). */
  timeoutMs: number;
  /** Attributes of the request message (the correlation id is added to them). */
  attributes?: Record<string, string>;
}

/**
 * An event already serialised as JSON: a bus sends its text as it is rather than serialising it
 * again. One that does serialise it gets the same value back through `toJSON`.
 */
export class JsonText {
  constructor(readonly text: string) {}

  toJSON(): unknown {
    return JSON.parse(this.text);
  }
}

/** Publishes JSON events to named topics. Pub/Sub in both places: the emulator locally. */
export interface EventBus {
  /** Publishes one JSON-serialisable event (or a {@link JsonText}) and resolves with the message id once it is accepted. */
  publish(topic: string, data: unknown, attributes?: Record<string, string>): Promise<string>;
  /**
   * Publishes a request and resolves with the first matching reply on `replyTopic`. Listening starts
   * before the publish, so a fast reply is not missed, and stops (its subscription removed) either way.
   */
  request(topic: string, data: unknown, options: RequestOptions): Promise<BusMessage>;
  /** Flushes pending batches and releases connections. */
  close(): Promise<void>;
}
