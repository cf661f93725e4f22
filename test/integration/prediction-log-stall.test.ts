import { PubSub, v1 } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServingApp } from '../../functions/serve/app.js';
import { locateEmulators, type RunningEmulator, startPubSubEmulator } from '../../scripts/lib/emulators.js';
import { PubSubEventBus } from '../../shared/adapters/pubsub/pubsub-event-bus.js';
import { freePort } from '../../shared/processes/processes.js';
import { PredictionsLogged } from '../../shared/domain/events.js';
import { type PredictionLogNotice, PredictionLog } from '../../shared/services/prediction-log.js';
import { binaryClassifierOnnx } from '../support/models.js';
import { listen, versionOf } from '../support/serving.js';

const PROJECT = 'stall-test';
const STALL_MS = 10_000;
const LOAD_LOOPS = 8;
/** Rows per request: on a quiet machine more than the 50,000 records a count-bounded buffer held pile up in the stall. */
const ROWS = 4;
const BODY = JSON.stringify({ instances: Array.from({ length: ROWS }, () => [1, 2, 3, 4]) });

/** Sends one-row predictions from `LOAD_LOOPS` loops until `stopAt`; returns the ids answered 200. */
async function load(url: string, stopAt: number): Promise<string[]> {
  const answered: string[] = [];
  const loop = async () => {
    while (Date.now() < stopAt) {
      const response = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY });
      if (response.status === 200) answered.push(...((await response.json()) as { ids: string[] }).ids);
    }
  };
  await Promise.all(Array.from({ length: LOAD_LOOPS }, loop));
  return answered;
}

/** Every prediction id the topic received, pulled from a subscription made before any traffic. */
async function receivedIds(pubsub: PubSub, expected: number): Promise<Set<string>> {
  // The PubSub object has resolved the emulator's address and plain-text credentials: reuse them.
  const { servicePath, port, sslCreds } = pubsub.options;
  const client = new v1.SubscriberClient({ servicePath, port: Number(port), sslCreds });
  const subscription = `projects/${PROJECT}/subscriptions/predictions-all`;
  const ids = new Set<string>();
  const deadline = Date.now() + 30_000;
  try {
    while (ids.size < expected && Date.now() < deadline) {
      const [response] = await client.pull({ subscription, maxMessages: 1000 });
      const receivedMessages = response.receivedMessages ?? [];
      for (const { message } of receivedMessages) {
        const logged = PredictionsLogged.parse(JSON.parse(Buffer.from(message!.data as Uint8Array).toString()));
        for (const prediction of logged.predictions) ids.add(prediction.predictionId);
      }
      if (receivedMessages.length > 0) await client.acknowledge({ subscription, ackIds: receivedMessages.map((item) => item.ackId!) });
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return ids;
  } finally {
    await client.close();
  }
}

describe('the prediction log through a Pub/Sub stall, on the real emulator', () => {
  let emulator: RunningEmulator;
  let pubsub: PubSub;
  const previousHost = process.env.PUBSUB_EMULATOR_HOST;

  beforeAll(async () => {
    emulator = await startPubSubEmulator(locateEmulators().pubsub, '127.0.0.1', await freePort());
    process.env.PUBSUB_EMULATOR_HOST = emulator.host;
    pubsub = new PubSub({ projectId: PROJECT });
    const [topic] = await pubsub.createTopic('predictions');
    await topic.createSubscription('predictions-all');
  }, 60_000);

  afterAll(async () => {
    emulator?.process.child.pid && process.kill(-emulator.process.child.pid, 'SIGCONT');
    await pubsub?.close();
    await emulator?.stop();
    if (previousHost === undefined) delete process.env.PUBSUB_EMULATOR_HOST;
    else process.env.PUBSUB_EMULATOR_HOST = previousHost;
  });

  it(`answers and logs every prediction across a ${STALL_MS / 1000} s freeze of the emulator`, async () => {
    const bus = new PubSubEventBus({ projectId: PROJECT });
    const notices: PredictionLogNotice[] = [];
    const predictionLog = new PredictionLog({ bus: () => bus, slowDrainMs: 3000, onNotice: (notice) => notices.push(notice) });
    const server = await listen(createServingApp({ ...(await versionOf('churn', 1, binaryClassifierOnnx())), predictionLog }));
    const group = -emulator.process.child.pid!;
    try {
      const started = Date.now();
      const answering = load(server.url, started + STALL_MS + 4000);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      process.kill(group, 'SIGSTOP');
      await new Promise((resolve) => setTimeout(resolve, STALL_MS));
      const bufferedDuringStall = predictionLog.stats.buffered;
      process.kill(group, 'SIGCONT');
      const answered = await answering;
      await predictionLog.flush(30_000);

      console.log(`stall test: ${answered.length} predictions answered, ${bufferedDuringStall} waiting at the end of the stall`);
      expect(bufferedDuringStall).toBeGreaterThan(5000);
      expect(answered.length).toBeGreaterThan(bufferedDuringStall);
      const received = await receivedIds(pubsub, answered.length);
      expect(answered.filter((id) => !received.has(id))).toEqual([]);
      expect(predictionLog.stats.dropped).toBe(0);
      expect(notices.some((notice) => notice.level === 'WARNING' && /waited \d+ ms/.test(notice.message))).toBe(true);
    } finally {
      process.kill(group, 'SIGCONT');
      await server.close();
      await bus.close();
    }
  }, 90_000);
});
