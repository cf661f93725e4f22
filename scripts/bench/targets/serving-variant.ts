import { serve } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { createServingApp } from '../../../functions/serve/app.js';
import { OnnxModelRunner } from '../../../shared/adapters/onnx/index.js';
import { benchVersion, smallModelOnnx } from '../models.js';

// Layers of the serving stack, one at a time, on @hono/node-server: what each adds per request.
//   hono-hello             Hono parsing the JSON body and answering a fixed /predict-shaped JSON
//   hono-hello-body-limit  the same behind hono/body-limit, as the serving app's routes are
//   app-no-log             the real serving app (createServingApp) with no prediction log
const variant = process.env.BENCH_VARIANT ?? 'hono-hello';
const answer = {
  predictions: [{ probability: 0.8698915243148804, label: 1 }],
  model: 'bench-small',
  version: 1,
  ids: ['00000000-0000-4000-8000-000000000000'],
};

async function buildApp(): Promise<Hono> {
  if (variant === 'app-no-log') {
    const bytes = smallModelOnnx();
    const loaded = await new OnnxModelRunner().load(bytes);
    return createServingApp({ version: benchVersion(bytes, loaded.signature), loaded });
  }
  const app = new Hono();
  app.get('/health', (c) => c.json({ status: 'ok' }));
  const handler = async (c: Context) => {
    JSON.parse(await c.req.text());
    return c.json(answer);
  };
  if (variant === 'hono-hello-body-limit') app.post('/predict', bodyLimit({ maxSize: 1024 * 1024 }), handler);
  else app.post('/predict', handler);
  return app;
}

const server = serve({ fetch: (await buildApp()).fetch, port: Number(process.env.PORT ?? 8080), hostname: process.env.HOST ?? '127.0.0.1' });
process.once('SIGTERM', () => server.close(() => process.exit(0)));
