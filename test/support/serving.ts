import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { OnnxModelRunner } from '../../shared/adapters/onnx/index.js';
import { modelTask } from '../../shared/domain/model-task.js';
import type { ModelVersion } from '../../shared/domain/registry.js';
import type { LoadedModel } from '../../shared/ports/model-runner.port.js';

/** A registry entry for a model file, as register-model would have written it. */
export async function versionOf(model: string, version: number, bytes: Uint8Array): Promise<{ version: ModelVersion; loaded: LoadedModel }> {
  const loaded = await new OnnxModelRunner().load(bytes);
  const entry: ModelVersion = {
    model,
    version,
    status: 'ready',
    artifactUri: `gs://bucket/models/${model}/x/model.onnx`,
    generation: '1',
    sha256: createHash('sha256').update(bytes).digest('hex'),
    sizeBytes: bytes.byteLength,
    signature: loaded.signature,
    task: modelTask(loaded.signature),
    served: loaded.served,
    metrics: {},
    params: {},
    tags: {},
    description: '',
    lineage: { sourceUri: 'test' },
    createdAt: new Date().toISOString(),
  };
  return { version: entry, loaded };
}

/** Serves a Hono app on a real HTTP server on a free loopback port. */
export async function listen(app: Hono): Promise<{ url: string; close(): Promise<void> }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      resolve({ url: `http://127.0.0.1:${info.port}`, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}
