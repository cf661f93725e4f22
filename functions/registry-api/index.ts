import * as ff from '@google-cloud/functions-framework';
import { getRequestListener } from '@hono/node-server';
import { platform } from '../../shared/runtime/index.js';
import { createRegistryApi } from './app.js';

const { config } = platform();
const app = createRegistryApi({
  registry: () => platform().registry(),
  bus: () => platform().eventBus(),
  policy: config.promotion,
  apiKeyHashes: config.serving.apiKeyHashes,
});

ff.http('registryApi', getRequestListener(app.fetch));
