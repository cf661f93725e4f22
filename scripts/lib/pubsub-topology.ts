import type { PubSub } from '@google-cloud/pubsub';

const ALREADY_EXISTS = 6;

/** Creates a topic unless it exists. */
export async function ensureTopic(client: PubSub, name: string): Promise<void> {
  try {
    await client.createTopic(name);
  } catch (error) {
    if ((error as { code?: number }).code !== ALREADY_EXISTS) throw error;
  }
}

/** The push endpoint the Functions Framework turns into a CloudEvent for `topic`. */
export function pushEndpointFor(functionUrl: string, projectId: string, topic: string): string {
  return `${functionUrl.replace(/\/$/, '')}/projects/${projectId}/topics/${topic}`;
}
