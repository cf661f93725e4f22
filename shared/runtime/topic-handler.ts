import type { CloudEvent } from '@google-cloud/functions-framework';
import type { z } from 'zod';
import { isPlatformError } from '../domain/errors.js';
import { parseEvent } from '../domain/events.js';
import { deadLetterTopicOf } from '../domain/topics.js';
import type { BusMessage } from '../ports/event-bus.port.js';
import { log } from './logger.js';
import type { Platform } from './platform.js';

/** The CloudEvent body Pub/Sub delivers (google.cloud.pubsub.topic.v1.messagePublished). */
export interface MessagePublishedData {
  message?: { data?: string; attributes?: Record<string, string>; messageId?: string; message_id?: string; publishTime?: string };
  subscription?: string;
}

/** What a topic handler needs to know. */
export interface TopicHandlerOptions<T> {
  functionName: string;
  topic: string;
  schema: z.ZodType<T>;
  handle: (event: T, message: BusMessage) => Promise<void>;
}

/**
 * Wraps a use case as a Pub/Sub-triggered function. A message that can never succeed (bad JSON,
 * bad schema, any permanent PlatformError) is acknowledged and dead-lettered with its reason;
 * anything else is rethrown so Pub/Sub redelivers it.
 */
export function topicHandler<T>(platform: () => Platform, { functionName, topic, schema, handle }: TopicHandlerOptions<T>) {
  return async (cloudEvent: CloudEvent<MessagePublishedData>): Promise<void> => {
    const message = decodeMessage(cloudEvent);
    log('INFO', `${functionName} received message ${message.id} from ${topic}`, {
      function: functionName,
      messageId: message.id,
      attributes: message.attributes,
    });
    try {
      await handle(parseEvent(schema, message.data, topic), message);
    } catch (error) {
      if (!isPlatformError(error) || !error.permanent) {
        log('ERROR', `${functionName} failed on message ${message.id}; Pub/Sub will redeliver it`, { function: functionName, messageId: message.id, error });
        throw error;
      }
      await deadLetter(platform(), topic, message, `${error.code}: ${error.message}`);
      log('WARNING', `${functionName} dead-lettered message ${message.id}: ${error.message}`, {
        function: functionName,
        messageId: message.id,
        code: error.code,
      });
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

async function deadLetter(platform: Platform, topic: string, message: BusMessage, reason: string): Promise<void> {
  await platform.eventBus().publish(deadLetterTopicOf(topic), message.data ?? null, {
    ...message.attributes,
    deadLetterReason: reason.slice(0, 1000),
    originalMessageId: message.id,
    originalTopic: topic,
  });
}
