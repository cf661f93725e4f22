import { PubSub } from '@google-cloud/pubsub';
import type { SubscriptionSpec } from '../../infra/stack.js';
import { type BridgeOptions, bridgeSubscription } from './pull-bridge.js';

const ALREADY_EXISTS = 6;

/**
 * The emulator's topology as the local runner sets it up from infra/: topics, and a pull bridge
 * per subscription in place of Eventarc's push. Event traffic itself goes through the EventBus port.
 */
export interface PubSubTopology {
  /** Creates each topic unless it exists. */
  ensureTopics(names: readonly string[]): Promise<void>;
  /** Delivers a subscription's messages to a hosted function (see bridgeSubscription); resolves with its drain-and-stop. */
  bridge(spec: SubscriptionSpec, functionUrl: string, options: BridgeOptions): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** The topology of a project on the emulator PUBSUB_EMULATOR_HOST names. */
export function pubSubTopology(projectId: string): PubSubTopology {
  const client = new PubSub({ projectId });
  return {
    ensureTopics: async (names) => void (await Promise.all(names.map((name) => ensureTopic(client, name)))),
    bridge: async (spec, functionUrl, options) => {
      await ensureTopic(client, spec.deadLetterTopic);
      return bridgeSubscription(client, projectId, spec, functionUrl, options);
    },
    close: () => client.close(),
  };
}

/** Creates a topic unless it exists. */
async function ensureTopic(client: PubSub, name: string): Promise<void> {
  try {
    await client.createTopic(name);
  } catch (error) {
    if ((error as { code?: number }).code !== ALREADY_EXISTS) throw error;
  }
}
