import type { PubSub } from '@google-cloud/pubsub';
import { MAX_DELIVERY_ATTEMPTS, RETRY_POLICY, type SubscriptionSpec } from '../../../infra/stack.js';

const ALREADY_EXISTS = 6;

/** Creates a topic unless it exists. */
export async function ensureTopic(client: PubSub, name: string): Promise<void> {
  try {
    await client.createTopic(name);
  } catch (error) {
    if ((error as { code?: number }).code !== ALREADY_EXISTS) throw error;
  }
}

/**
 * Creates or updates a push subscription with its dead-letter topic and retry policy.
 * `pushEndpoint` is the function's URL; the path `/projects/<p>/topics/<t>` lets the Functions
 * Framework convert the push body into a CloudEvent.
 */
export async function ensurePushSubscription(
  client: PubSub,
  projectId: string,
  spec: SubscriptionSpec,
  pushEndpoint: string,
  retry: { minimumBackoffSeconds: number; maximumBackoffSeconds: number } = RETRY_POLICY,
): Promise<void> {
  const options = {
    pushConfig: { pushEndpoint },
    ackDeadlineSeconds: spec.ackDeadlineSeconds,
    retryPolicy: { minimumBackoff: { seconds: retry.minimumBackoffSeconds }, maximumBackoff: { seconds: retry.maximumBackoffSeconds } },
    deadLetterPolicy: { deadLetterTopic: `projects/${projectId}/topics/${spec.deadLetterTopic}`, maxDeliveryAttempts: MAX_DELIVERY_ATTEMPTS },
  };
  const subscription = client.subscription(spec.name);
  const [exists] = await subscription.exists();
  if (!exists) {
    await client.topic(spec.topic).createSubscription(spec.name, options);
    return;
  }
  await subscription.setMetadata(options);
}

/** The push endpoint the Functions Framework turns into a CloudEvent for `topic`. */
export function pushEndpointFor(functionUrl: string, projectId: string, topic: string): string {
  return `${functionUrl.replace(/\/$/, '')}/projects/${projectId}/topics/${topic}`;
}
