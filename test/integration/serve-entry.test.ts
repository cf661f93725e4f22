import { mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirestoreModelRegistry } from '../../shared/adapters/firestore/firestore-model-registry.js';
import { LocalBucketArtifactStore } from '../../shared/adapters/local-bucket/local-bucket-artifact-store.js';
import { OnnxModelRunner } from '../../shared/adapters/onnx/index.js';
import type { ModelVersion } from '../../shared/domain/registry.js';
import { loadServingModel } from '../../shared/services/serving-model.js';
import { useEmulators } from '../support/environment.js';
import { registerModelFile } from '../support/registered-model.js';
import { binaryClassifierOnnx } from '../support/models.js';

const { projectId } = useEmulators();
const dataDir = mkdtempSync(join(tmpdir(), 'serve-entry-'));
const bucket = new LocalBucketArtifactStore({ root: join(dataDir, 'bucket'), bucket: 'mlops-artifacts' });
const firestore = new Firestore({ projectId, ignoreUndefinedProperties: true });
const registry = new FirestoreModelRegistry({ projectId, client: firestore });
const runner = new OnnxModelRunner();

const register = (model: string, bytes: Uint8Array): Promise<ModelVersion> => registerModelFile({ registry, bucket }, model, bytes);

afterAll(async () => {
  await firestore.terminate();
});

describe('the serve function under the Functions Framework', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    await register('churn', binaryClassifierOnnx());
    await registry.promote({ model: 'churn', version: 1, alias: 'production', actor: 'test', reason: '', requestId: 'p1' }, { requireStaging: false });
    Object.assign(process.env, { MLOPS_DATA_DIR: dataDir, MLOPS_SERVE_MODEL: 'churn' });
    await import('../../functions/serve/index.js');
    const { getTestServer } = await import('@google-cloud/functions-framework/testing');
    server = getTestServer('serve');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  it('resolves the production alias at cold start and answers /predict through the framework', async () => {
    expect(await (await fetch(`${url}/health`)).json()).toMatchObject({ status: 'ok', model: 'churn', version: 1, served: { derived: false } });
    const response = await fetch(`${url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [[1, 2, 3, 4]] }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ model: 'churn', version: 1, ids: [expect.any(String)] });
  });

  // A limit of this entry, kept visible: the framework's own JSON parser refuses malformed JSON
  // with an HTML page before the app can answer {"error": ...}. The direct entry (server.ts) does
  // not have it, one reason serving runs on @hono/node-server (see BENCHMARKS.md).
  it('refuses malformed JSON with a 400, though the framework answers it in HTML', async () => {
    const response = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"instances": [' });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('answers a body sent as text/plain through the app: 415, naming the type to send', async () => {
    const response = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"instances": [' });
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ code: 'REQUEST.UNSUPPORTED_MEDIA_TYPE', error: expect.stringMatching(/Content-Type: application\/json/) });
  });
});

describe('cold start integrity', () => {
  const deps = { registry, artifacts: bucket, runner, cacheDir: join(dataDir, 'cache') };

  it('serves from the local cache once fetched, even when the bucket object is gone', async () => {
    const version = await register('cached', binaryClassifierOnnx());
    await loadServingModel({ model: 'cached', version: version.version }, deps);
    await bucket.delete('models/cached/a/model.onnx');
    const again = await loadServingModel({ model: 'cached', version: version.version }, deps);
    expect(again.version.sha256).toBe(version.sha256);
  });

  it('refuses an artifact whose sha256 no longer matches the registry', async () => {
    const version = await register('tampered', binaryClassifierOnnx());
    writeFileSync(join(bucket.folder, 'models/tampered/a/model.onnx'), Buffer.from(binaryClassifierOnnx()).reverse());
    await expect(loadServingModel({ model: 'tampered', version: version.version }, { ...deps, cacheDir: join(dataDir, 'cache-2') })).rejects.toMatchObject({
      code: 'ARTIFACT.INTEGRITY',
    });
  });

  it('refuses an alias that names nothing, with a message saying what to do', async () => {
    await register('unpromoted', binaryClassifierOnnx());
    await expect(loadServingModel({ model: 'unpromoted', alias: 'production' }, deps)).rejects.toThrow(
      /no "production" alias to serve\. Promote a version first/,
    );
  });
});
