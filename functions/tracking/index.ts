import * as ff from '@google-cloud/functions-framework';
import { getRequestListener } from '@hono/node-server';
import { platform } from '../../shared/runtime/index.js';
import { createTrackingApi } from './app.js';

const { config } = platform();
const app = createTrackingApi({
  tracking: () => platform().trackingStore(),
  artifacts: () => platform().artifacts(),
  registry: () => platform().registry(),
  loggedModels: () => platform().loggedModels(),
  bus: () => platform().eventBus(),
  policy: config.promotion,
  apiKeyHashes: config.serving.apiKeyHashes,
});

ff.http('tracking', getRequestListener(app.fetch));
