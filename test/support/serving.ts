import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import type { ServingApp } from '../../functions/serve/app.js';
import { createServingServer } from '../../functions/serve/http-server.js';
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

/** Serves an app on a real HTTP server on a free loopback port: a serving app as a revision runs it, on its node:http listener. */
export async function listen(app: Hono | ServingApp): Promise<{ url: string; close(): Promise<void> }> {
  const server = 'listener' in app ? createServingServer(app.listener) : createServer(getRequestListener(app.fetch));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((done) => server.close(() => done())) };
}
