import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { FirestoreModelRegistry } from '../../shared/adapters/firestore/firestore-model-registry.js';
import { LocalBucketArtifactStore } from '../../shared/adapters/local-bucket/local-bucket-artifact-store.js';
import { LocalServingDeployer } from '../../shared/adapters/local-serving/local-serving-deployer.js';
import { type RevisionInstance, startRevisionInstance, stopRevisionInstance } from '../../shared/adapters/local-serving/serving-revision.js';
import { ServingRouter } from '../../shared/adapters/local-serving/serving-router.js';
import { TOPICS } from '../../shared/domain/topics.js';
import { logisticRegressionToOnnx } from '../../shared/model-export/onnx-writer.js';
import { useEmulators } from '../support/environment.js';
import { binaryClassifierOnnx } from '../support/models.js';
import { constantLoad } from '../support/load.js';
import { predictRequest, rawConnection } from '../support/raw-http.js';
import { registerModelFile } from '../support/registered-model.js';

// Real serving revisions (functions/serve/server.ts) taking the stable URL's connections from the
// local router, across switches from one to the next.
const { projectId } = useEmulators();
const dataDir = mkdtempSync(join(tmpdir(), 'serving-handoff-'));
const env: NodeJS.ProcessEnv = { ...process.env, MLOPS_DATA_DIR: dataDir };
const projectRoot = resolve(import.meta.dirname, '../..');
const firestore = new Firestore({ projectId, ignoreUndefinedProperties: true });
const pubsub = new PubSub({ projectId });

beforeAll(async () => {
  const bucket = new LocalBucketArtifactStore({ root: join(dataDir, 'bucket'), bucket: 'mlops-artifacts' });
  const registry = new FirestoreModelRegistry({ projectId, client: firestore });
  await registerModelFile({ registry, bucket }, 'handoff', binaryClassifierOnnx());
  // Version 2 from a file of its own, beside version 1's.
  const second = logisticRegressionToOnnx({ weights: [-0.1, -0.2, -0.3, -0.4], intercept: 0, featureNames: ['a', 'b', 'c', 'd'] });
  await registerModelFile({ registry, bucket }, 'handoff', second, 'b');
  await pubsub.createTopic(TOPICS.predictions);
}, 30_000);

afterAll(() => Promise.all([firestore.terminate(), pubsub.close()]), 30_000);

/** A revision of `version`, stopped when the test ends. */
async function revision(version: number): Promise<RevisionInstance> {
  const instance = await startRevisionInstance({ name: `handoff-v${version}`, model: 'handoff', version, projectRoot, env });
  onTestFinished(() => stopRevisionInstance(instance, 1000));
  return instance;
}

async function router(): Promise<{ router: ServingRouter; port: number }> {
  const serving = new ServingRouter({ model: 'handoff' });
  const port = await serving.listen(0);
  onTestFinished(() => serving.close());
  return { router: serving, port };
}

const versionOf = (body: string) => (JSON.parse(body) as { version?: number }).version;

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the stable URL handing its connections to the current revision', () => {
  it('loses no request across a promotion and a rollback under constant load, every answer naming its version', async () => {
    const deployer = new LocalServingDeployer({ projectRoot, env });
    onTestFinished(() => deployer.close());
    const { url } = await deployer.deploy('handoff', 1);
    const load = constantLoad(url, 16);
    onTestFinished(() => load.stop());
    await until(() => load.answered(1) > 300, 20_000, 'load on version 1');
    await deployer.deploy('handoff', 2);
    await until(() => load.answered(2) > 300, 20_000, 'version 2 answering');
    const rolledBackAt = load.outcomes.length;
    await deployer.deploy('handoff', 1);
    await until(() => load.outcomes.slice(rolledBackAt).filter((outcome) => outcome.version === 1).length > 300, 20_000, 'version 1 answering again');
    await load.stop();
    expect(load.outcomes.filter((outcome) => outcome.status !== 200)).toEqual([]);
    expect(load.outcomes.every((outcome) => outcome.version === 1 || outcome.version === 2)).toBe(true);
    // Once the rollback returned, the replaced revision has drained: only version 1 answers.
    expect(load.outcomes.slice(-50).every((outcome) => outcome.version === 1)).toBe(true);
  }, 90_000);

  it("answers a request on a connection idle across a switch from the old revision, closing it, and the old one's drain ends then", async () => {
    const [blue, green] = await Promise.all([revision(1), revision(2)]);
    const { router: serving, port } = await router();
    serving.switchTo(blue);
    const idle = await rawConnection(port);
    onTestFinished(() => void idle.socket.destroy());
    const before = await idle.exchange(predictRequest());
    expect({ version: versionOf(before.body), connection: before.headers.connection }).toEqual({ version: 1, connection: 'keep-alive' });

    serving.switchTo(green);
    let drained: boolean | undefined;
    void serving.drained(blue, 10_000).then((done) => (drained = done));
    const fresh = await rawConnection(port);
    onTestFinished(() => void fresh.socket.destroy());
    expect(versionOf((await fresh.exchange(predictRequest())).body)).toBe(2);
    // The idle connection was not closed under the client, which may have been sending on it.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(drained).toBeUndefined();
    const after = await idle.exchange(predictRequest());
    expect({ status: after.status, version: versionOf(after.body), connection: after.headers.connection }).toEqual({
      status: 200,
      version: 1,
      connection: 'close',
    });
    await idle.closed;
    await until(() => drained !== undefined, 3000, 'the drain to end');
    expect(drained).toBe(true);
  }, 60_000);

  it('closes a connection it answered itself while no revision was up, once one is, so the client reaches the revision', async () => {
    const blue = await revision(1);
    const { router: serving, port } = await router();
    const early = await rawConnection(port);
    onTestFinished(() => void early.socket.destroy());
    const unavailable = await early.exchange(predictRequest());
    expect({ status: unavailable.status, connection: unavailable.headers.connection }).toEqual({ status: 503, connection: 'keep-alive' });
    serving.switchTo(blue);
    const answered = await early.exchange(predictRequest());
    expect({ status: answered.status, version: versionOf(answered.body), connection: answered.headers.connection }).toEqual({
      status: 200,
      version: 1,
      connection: 'close',
    });
    await early.closed;
  }, 60_000);
});
