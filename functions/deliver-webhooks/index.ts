import * as ff from '@google-cloud/functions-framework';
import type { CloudEvent } from '@google-cloud/functions-framework';
import { WEBHOOK_SOURCES } from '../../shared/domain/webhook-events.js';
import { WEBHOOK_SOURCE_TOPICS, type WebhookSourceTopic } from '../../shared/domain/webhooks.js';
import { log, platform, topicHandler } from '../../shared/runtime/index.js';
import type { MessagePublishedData } from '../../shared/runtime/topic-handler.js';
import { deliverWebhookEvent } from '../../shared/services/webhook-delivery.js';

const webhooks = () => platform().webhooks();

/** One topic handler per source topic: deliver-webhooks-<topic> is subscribed to that topic alone. */
const HANDLERS = Object.fromEntries(
  WEBHOOK_SOURCE_TOPICS.map((topic) => {
    const functionName = `deliver-webhooks-${topic}`;
    const { schema, toWebhook } = WEBHOOK_SOURCES[topic];
    const handle = async (event: unknown) => {
      const webhook = toWebhook(event);
      if (!webhook) return;
      const outcomes = await deliverWebhookEvent(webhook, { store: await webhooks() });
      log('INFO', `${webhook.event} ${webhook.id}: ${outcomes.length} subscription(s)`, { function: functionName, eventId: webhook.id, outcomes });
    };
    return [topic, topicHandler(platform, { functionName, topic, schema, handle })];
  }),
) as Record<WebhookSourceTopic, (event: CloudEvent<MessagePublishedData>) => Promise<void>>;

// Every deliver-webhooks-<topic> runs this one entry point; the topic comes from the event's source,
// `//pubsub.googleapis.com/projects/<project>/topics/<topic>` (Eventarc's, and the Functions
// Framework's for a push to /projects/<project>/topics/<topic>).
ff.cloudEvent('deliverWebhooks', async (cloudEvent: CloudEvent<MessagePublishedData>) => {
  const topic = cloudEvent.source?.split('/topics/')[1] as WebhookSourceTopic | undefined;
  const handler = topic ? HANDLERS[topic] : undefined;
  // A topic no webhook is made from can never succeed here: acknowledged, and said.
  if (!handler) return log('ERROR', `deliver-webhooks got an event from ${cloudEvent.source}, not one of ${WEBHOOK_SOURCE_TOPICS.join(', ')}`);
  await handler(cloudEvent);
});
