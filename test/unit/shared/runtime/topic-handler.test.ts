import type { CloudEvent } from '@google-cloud/functions-framework';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PlatformError } from '../../../../shared/domain/errors.js';
import { deadLetterTopicOf } from '../../../../shared/domain/topics.js';
import type { EventBus } from '../../../../shared/ports/event-bus.port.js';
import type { Platform } from '../../../../shared/runtime/platform.js';
import { type MessagePublishedData, topicHandler } from '../../../../shared/runtime/topic-handler.js';

process.env.MLOPS_LOG_LEVEL = 'silent';

type Published = { topic: string; data: unknown; attributes: Record<string, string> };

/** A platform whose only adapter is a bus that keeps what is published. */
function recordingPlatform(): { platform: () => Platform; published: Published[] } {
  const published: Published[] = [];
  const bus: EventBus = {
    publish: async (topic, data, attributes = {}) => String(published.push({ topic, data, attributes })),
    request: async () => {
      throw new Error('a topic handler never waits for a reply');
    },
    close: async () => undefined,
  };
  const platform = { eventBus: () => bus } as unknown as Platform;
  return { platform: () => platform, published };
}

/** A Pub/Sub push delivery of one JSON message, as the Functions Framework hands it over. */
function delivery(data: unknown, attributes: Record<string, string> = {}, messageId = 'm-1'): CloudEvent<MessagePublishedData> {
  return {
    id: messageId,
    specversion: '1.0',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    source: '//pubsub.googleapis.com/projects/p/topics/work',
    data: { message: { data: Buffer.from(JSON.stringify(data)).toString('base64'), attributes, messageId } },
  };
}

/** An adapter's own error type (as CloudRunError is): not a PlatformError, but it knows whether retrying helps. */
class BackendError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'BackendError';
  }
}

const Work = z.object({ model: z.string() });

describe('topicHandler: what is dead-lettered and what is redelivered', () => {
  it('dead-letters at once an adapter error that says it is permanent (a Cloud Run 403), with its reason', async () => {
    const { platform, published } = recordingPlatform();
    let attempts = 0;
    const handler = topicHandler(platform, {
      functionName: 'work',
      topic: 'work',
      schema: Work,
      handle: async () => {
        attempts++;
        throw new BackendError('Cloud Run Admin API POST /services failed (403): permission denied', true);
      },
    });
    await expect(handler(delivery({ model: 'churn' }, { source: 'test' }))).resolves.toBeUndefined();
    expect(attempts).toBe(1);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      topic: deadLetterTopicOf('work'),
      data: { model: 'churn' },
      attributes: { source: 'test', originalMessageId: 'm-1', originalTopic: 'work', deadLetterReason: expect.stringMatching(/403\): permission denied/) },
    });
  });

  it('rethrows a transient adapter error so Pub/Sub redelivers it, and dead-letters nothing', async () => {
    const { platform, published } = recordingPlatform();
    const handler = topicHandler(platform, {
      functionName: 'work',
      topic: 'work',
      schema: Work,
      handle: async () => {
        throw new BackendError('Cloud Run Admin API POST /services failed (503): unavailable', false);
      },
    });
    await expect(handler(delivery({ model: 'churn' }))).rejects.toThrow(/503/);
    expect(published).toEqual([]);
  });

  it('rethrows an error that says nothing about retrying, and a transient PlatformError', async () => {
    const { platform, published } = recordingPlatform();
    for (const error of [new Error('socket hang up'), new PlatformError('INTERNAL', 'try again', { permanent: false })]) {
      const handler = topicHandler(platform, {
        functionName: 'work',
        topic: 'work',
        schema: Work,
        handle: async () => {
          throw error;
        },
      });
      await expect(handler(delivery({ model: 'churn' }))).rejects.toBe(error);
    }
    expect(published).toEqual([]);
  });

  it('dead-letters a message its schema refuses, naming the code', async () => {
    const { platform, published } = recordingPlatform();
    const handler = topicHandler(platform, { functionName: 'work', topic: 'work', schema: Work, handle: async () => undefined });
    await handler(delivery({ nothing: true }));
    expect(published).toHaveLength(1);
    expect(published[0]!.attributes.deadLetterReason).toMatch(/^EVENT\.INVALID: /);
  });
});

describe('topicHandler with a reply topic: the outcome goes to whoever waits', () => {
  it("publishes the handler's outcome on the reply topic, keyed by the request's correlation id and message id", async () => {
    const { platform, published } = recordingPlatform();
    const handler = topicHandler(platform, {
      functionName: 'work',
      topic: 'work',
      schema: Work,
      replyTopic: 'work-done',
      handle: async (event) => ({ model: event.model, status: 'succeeded' }),
      failureReply: () => ({ model: '', status: 'failed' }),
    });
    await handler(delivery({ model: 'churn' }, { correlationId: 'req-1' }, 'm-7'));
    expect(published).toEqual([
      { topic: 'work-done', data: { model: 'churn', status: 'succeeded' }, attributes: { correlationId: 'req-1', inReplyTo: 'm-7' } },
    ]);
  });

  it('replies with the failure outcome and dead-letters when the request can never succeed', async () => {
    const { platform, published } = recordingPlatform();
    const handler = topicHandler(platform, {
      functionName: 'work',
      topic: 'work',
      schema: Work,
      replyTopic: 'work-done',
      handle: async (): Promise<{ status: string; error?: string }> => {
        throw new PlatformError('REGISTRY.MODEL_NOT_FOUND', 'No model named "churn"');
      },
      failureReply: ({ error }) => ({ status: 'failed', error: error.message }),
    });
    await handler(delivery({ model: 'churn' }, { correlationId: 'req-2' }, 'm-8'));
    expect(published.map((message) => message.topic)).toEqual(['work-done', deadLetterTopicOf('work')]);
    expect(published[0]).toMatchObject({
      data: { status: 'failed', error: 'No model named "churn"' },
      attributes: { correlationId: 'req-2', inReplyTo: 'm-8' },
    });
  });

  it('replies nothing on a transient failure: the redelivery will answer', async () => {
    const { platform, published } = recordingPlatform();
    const handler = topicHandler(platform, {
      functionName: 'work',
      topic: 'work',
      schema: Work,
      replyTopic: 'work-done',
      handle: async (): Promise<{ status: string }> => {
        throw new BackendError('unavailable', false);
      },
      failureReply: () => ({ status: 'failed' }),
    });
    await expect(handler(delivery({ model: 'churn' }, { correlationId: 'req-3' }))).rejects.toThrow('unavailable');
    expect(published).toEqual([]);
  });
});
