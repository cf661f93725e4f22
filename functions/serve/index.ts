import * as ff from '@google-cloud/functions-framework';
import { getRequestListener } from '@hono/node-server';
import { log, platform } from '../../shared/runtime/index.js';
import { bootServing } from './boot.js';

// The Functions Framework entry (gen2 function). The model loads at cold start; requests that
// arrive meanwhile wait for it.
const listener = bootServing(platform()).then((revision) => {
  process.once('SIGTERM', () => void revision.shutdown());
  return getRequestListener(revision.app.fetch);
});

listener.catch((error) => log('ERROR', `serving revision failed to start: ${error.message}`, { error }));

ff.http('serve', async (request, response) => (await listener)(request, response));
