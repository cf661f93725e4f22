import { randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, describe, expect, it } from 'vitest';
import { FirestoreModelRegistry } from '../../shared/adapters/firestore/firestore-model-registry.js';
import { FirestoreRestModelRegistry } from '../../shared/adapters/firestore-rest/firestore-rest-model-registry.js';
import { useEmulators } from '../support/environment.js';

const { projectId, firestoreHost } = useEmulators();
const client = new Firestore({ projectId, ignoreUndefinedProperties: true });
const sdk = new FirestoreModelRegistry({ projectId, client });
afterAll(() => client.terminate());

/** Whether the REST reads needed the SDK registry. */
let fellBack = 0;
const rest = new FirestoreRestModelRegistry({
  projectId,
  emulatorHost: firestoreHost,
  fallback: async () => {
    fellBack++;
    return sdk;
  },
});

describe('registry reads over REST, against the Firestore emulator', () => {
  it('return exactly what the SDK adapter reads, for documents it wrote (registered, promoted, served)', async () => {
    const model = `m-${randomUUID().slice(0, 8)}`;
    const { version } = await sdk.registerVersion({
      model,
      registrationKey: `bucket/models/${model}/model.onnx#1`,
      actor: 'tester',
      artifactUri: `gs://bucket/models/${model}/model.onnx`,
      generation: '1796209374676000',
      sha256: 'ab'.repeat(32),
      sizeBytes: 591,
      signature: {
        inputs: [{ name: 'features', type: 'float32', shape: [null, 4] }],
        outputs: [{ name: 'probability', type: 'float32', shape: [null, 1] }],
      },
      metrics: { auc: 0.91, loss: Number.NaN, count: 12 },
      params: { lr: '0.1' },
      tags: {},
      description: '',
      lineage: { sourceUri: `gs://bucket/models/${model}/model.onnx`, runId: 'run-1' },
    });
    await sdk.promote(
      { model, version: version.version, alias: 'production', actor: 'tester', reason: 'test', requestId: randomUUID() },
      { requireStaging: false },
    );
    await sdk.recordServing(model, { url: 'http://127.0.0.1:1', version: version.version, revision: 'r1', deployedAt: new Date().toISOString() });

    const [restVersion, sdkVersion] = await Promise.all([rest.getVersion(model, version.version), sdk.getVersion(model, version.version)]);
    expect(restVersion).toEqual(sdkVersion);
    // Responses serialise these objects: same keys in the same order.
    expect(JSON.stringify(restVersion)).toBe(JSON.stringify(sdkVersion));
    expect(JSON.stringify(await rest.getModel(model))).toBe(JSON.stringify(await sdk.getModel(model)));
    expect(await rest.getModel(model)).toMatchObject({ aliases: { production: version.version }, serving: { revision: 'r1' } });
    expect(fellBack).toBe(0);
  });

  it('answer undefined for a model or version that does not exist, as the SDK adapter does', async () => {
    expect(await rest.getModel('no-such-model')).toBeUndefined();
    expect(await rest.getVersion('no-such-model', 1)).toBeUndefined();
    expect(fellBack).toBe(0);
  });
});
