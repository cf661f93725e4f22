import * as ff from '@google-cloud/functions-framework';
import { getRequestListener } from '@hono/node-server';
import { platform } from '../../shared/runtime/index.js';
import { createDataApi } from './app.js';

const app = createDataApi({ bus: () => platform().eventBus(), warehouse: () => platform().warehouse(), apiKeyHashes: platform().config.serving.apiKeyHashes });

ff.http('dataApi', getRequestListener(app.fetch));
