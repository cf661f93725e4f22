import { Hono } from 'hono';

/**
 * What the base serving service answers: it is deployed with no model (each promoted model gets its
 * own copy, pinned to one version), so it must start and listen like any Cloud Run service, say
 * that it is healthy, and refuse predictions with a message that says where they go.
 */
export function createIdleServingApp(): Hono {
  const app = new Hono();
  app.get('/health', (c) => c.json({ status: 'idle', model: null }));
  app.all('*', (c) =>
    c.json(
      {
        error:
          'This is the base serving service and serves no model: each promoted model has its own service, serve-<model> (see `mlops models show <model>`).',
        code: 'SERVING.NO_MODEL',
      },
      503,
    ),
  );
  return app;
}
