import { getRequestListener } from '@hono/node-server';
import { platform } from '../../shared/runtime/index.js';
import { log } from '../../shared/runtime/logger.js';
import { bootServing } from './boot.js';
import { serveHandedConnections } from './handed-connections.js';
import { createServingServer } from './http-server.js';
import { createIdleServingApp } from './idle.js';
import { ENV } from '../../shared/config/env.js';

// The direct entry: the app on Node's own HTTP server without the Functions Framework in front,
// for a Cloud Run service and for local serving revisions (see BENCHMARKS.md for why). The base
// service is deployed with no model pinned: it starts idle, so its deploy succeeds.
const revision = process.env[ENV.serveModel] ? await bootServing(platform()) : undefined;
const server = createServingServer(revision?.listener ?? getRequestListener(createIdleServingApp().fetch));
serveHandedConnections(server);
const port = Number(process.env.PORT ?? 8080);
server.listen(port, process.env.HOST ?? '0.0.0.0', () => {
  log('INFO', `listening on ${port}`, revision ? { model: revision.version.model, version: revision.version.version } : { model: null });
});

// Cloud Run sends SIGTERM and allows 10 s: stop taking requests, finish those in flight, flush the log.
const stop = () => {
  server.close(() => void (revision?.shutdown() ?? Promise.resolve()).then(() => process.exit(0)));
  setTimeout(() => process.exit(0), 9000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
