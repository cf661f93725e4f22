import { serve } from '@hono/node-server';
import { platform } from '../../shared/runtime/index.js';
import { log } from '../../shared/runtime/logger.js';
import { bootServing } from './boot.js';

// The direct entry: the same app on @hono/node-server without the Functions Framework in front,
// for a Cloud Run service and for local serving revisions (see BENCHMARKS.md for why).
const revision = await bootServing(platform());
const port = Number(process.env.PORT ?? 8080);
const server = serve({ fetch: revision.app.fetch, port, hostname: process.env.HOST ?? '0.0.0.0' }, (info) => {
  log('INFO', `listening on ${info.port}`, { model: revision.version.model, version: revision.version.version });
});

// Cloud Run sends SIGTERM and allows 10 s: stop taking requests, finish those in flight, flush the log.
const stop = () => {
  server.close(() => void revision.shutdown().then(() => process.exit(0)));
  setTimeout(() => process.exit(0), 9000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
