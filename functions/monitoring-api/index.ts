import * as ff from '@google-cloud/functions-framework';
import { getRequestListener } from '@hono/node-server';
import { platform } from '../../shared/runtime/index.js';
import { createMonitoringApi } from './app.js';

const app = createMonitoringApi({
  warehouse: () => platform().warehouse(),
  registry: () => platform().registry(),
  apiKeyHashes: platform().config.serving.apiKeyHashes,
});

ff.http('monitoringApi', getRequestListener(app.fetch));
