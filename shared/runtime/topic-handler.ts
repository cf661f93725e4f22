import type { CloudEvent } from '@google-cloud/functions-framework';
import type { z } from 'zod';
import { deadLetterTopicOf } from '../domain/topics.js';
import { type BusMessage, CORRELATION_ID_ATTRIBUTE } from '../ports/event-bus.port.js';
import { log } from './logger.js';
import type { Platform } from './platform.js';

/** The CloudEvent body Pub/Sub delivers (google.cloud.pubsub.topic.v1.messagePublished). */
export interface MessagePublishedData {
  message?: { data?: string; attributes?: Record<string, string>; messageId?: string; message_id?: string; publishTime?: string };
  subscription?: string;
}

/** What a topic handler needs to know. */
export interface TopicHandlerOptions<T, R = void> {
  functionName: string;
  topic: string;
  schema: z.ZodType<T>;
  /** The use case; with a `replyTopic`, what it returns is the outcome published there. */
  handle: (event: T, message: BusMessage) => Promise<R>;
  /** Where the outcome goes for whoever waits (EventBus.request); without it the outcome is dropped. */
  replyTopic?: string;
  /** The outcome to reply with when the event can never succeed, so whoever waits learns why rather than timing out. */
  failureReply?: (failure: { error: Error; event: T; message: BusMessage; seconds: number }) => R;
}

/** An error that says retrying cannot help: a permanent PlatformError, or an adapter's own error (CloudRunError) with `permanent: true`. */
export function isPermanent(error: unknown): error is Error & { permanent: true; code?: unknown } {
  return error instanceof Error && (error as { permanent?: unknown }).permanent === true;
}

/**
 * Wraps a use case as a Pub/Sub-triggered function. A message that can never succeed (bad JSON,
 * bad schema, any error marked `permanent`) is acknowledged and dead-lettered with its reason;
 * anything else is rethrown so Pub/Sub redelivers it. With a `replyTopic`, the outcome (or the
 * failure reply of a permanent failure) is published there, keyed by the request's correlation id.
 */
export function topicHandler<T, R = void>(
  platform: () => Platform,
  { functionName, topic, schema, handle, replyTopic, failureReply }: TopicHandlerOptions<T, R>,
) {
  return async (cloudEvent: CloudEvent<MessagePublishedData>): Promise<void> => {
    const message = decodeMessage(cloudEvent);
    const started = performance.now();
    log('INFO', `${functionName} received message ${message.id} from ${topic}`, {
      function: functionName,
      messageId: message.id,
      attributes: message.attributes,
    });
    let event: T | undefined;
    try {
      // Loaded on the first message, not with this module: the runtime's index brings it into every entry,
      // the serving revision's too, which validates no events and need not load their schemas (zod) to start.
      const { parseEvent } = await import('../domain/events.js');
      event = parseEvent(schema, message.data, topic);
      const outcome = await handle(event, message);
      if (replyTopic) await reply(platform(), replyTopic, message, outcome);
    } catch (error) {
      if (!isPermanent(error)) {
        // Transient: Pub/Sub redelivers, and the redelivery answers whoever waits.
        log('ERROR', `${functionName} failed on message ${message.id}; Pub/Sub will redeliver it`, { function: functionName, messageId: message.id, error });
        throw error;
      }
      const seconds = (performance.now() - started) / 1000;
      if (replyTopic && failureReply && event !== undefined) await reply(platform(), replyTopic, message, failureReply({ error, event, message, seconds }));
      const code = typeof error.code === 'string' ? error.code : error.name;
      await deadLetter(platform(), topic, message, `${code}: ${error.message}`);
      log('WARNING', `${functionName} dead-lettered message ${message.id}: ${error.message}`, { function: functionName, messageId: message.id, code });
    }
  };
}

/** Decodes the base64 JSON body; undecodable bytes become `undefined` and fail the schema. */
export function decodeMessage(cloudEvent: CloudEvent<MessagePublishedData>): BusMessage {
  const message = cloudEvent.data?.message ?? {};
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(message.data ?? '', 'base64').toString('utf8'));
  } catch {
    data = undefined;
  }
  return { id: message.messageId ?? message.message_id ?? cloudEvent.id, data, attributes: message.attributes ?? {}, publishTime: message.publishTime };
}

/** Publishes an outcome keyed as its request: the request's correlation id, and the message it answers (so a redelivery's reply is recognisable). */
async function reply(platform: Platform, replyTopic: string, message: BusMessage, outcome: unknown): Promise<void> {
  const correlationId = message.attributes[CORRELATION_ID_ATTRIBUTE];
  await platform.eventBus().publish(replyTopic, outcome ?? null, {
    ...(correlationId === undefined ? {} : { [CORRELATION_ID_ATTRIBUTE]: correlationId }),
    inReplyTo: message.id,
  });
}

async function deadLetter(platform: Platform, topic: string, message: BusMessage, reason: string): Promise<void> {
  await platform.eventBus().publish(deadLetterTopicOf(topic), message.data ?? null, {
    ...message.attributes,
    deadLetterReason: reason.slice(0, 1000),
    originalMessageId: message.id,
    originalTopic: topic,
  });
}
