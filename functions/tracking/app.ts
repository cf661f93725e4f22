import { Hono } from 'hono';
import { z } from 'zod';
import { PlatformError } from '../../shared/domain/errors.js';
import { validateEndStatus } from '../../shared/domain/tracking.js';
import { requireApiKey } from '../../shared/http/auth.js';
import { notFound, onError } from '../../shared/http/errors.js';
import { readRequestBody } from '../../shared/http/json.js';
import { describeRun, listRunArtifacts, putRunArtifact, readRunArtifact, requireRun, resolveExperimentIds } from '../../shared/services/tracking.js';
import { addMlflowRoutes } from './mlflow/mlflow-api.js';
import type { MlflowDeps } from './mlflow/protocol.js';
import { trackingOpenApi } from './openapi.js';

/** What the tracking API is built from: its stores, and for MLflow's registry calls the bus and promotion policy. */
export interface TrackingApiOptions extends MlflowDeps {
  apiKeyHashes: string[];
}

const Text = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const Tags = z.record(z.string(), Text).refine((tags) => Object.keys(tags).length <= 100, { message: 'at most 100 entries' });
const ExperimentBody = z.object({ name: z.string(), tags: Tags.optional() });
const RunBody = z
  .object({ experimentId: z.string().optional(), experiment: z.string().optional(), name: z.string().max(250).optional(), tags: Tags.optional() })
  .refine((body) => (body.experimentId === undefined) !== (body.experiment === undefined), { message: 'give either experimentId or experiment (a name)' });
// The same bounds as MLflow's log-batch.
const LogBatchBody = z.object({
  params: Tags.optional(),
  tags: Tags.optional(),
  metrics: z
    .array(z.object({ key: z.string(), value: z.number(), step: z.number().int().default(0), timestamp: z.number().int().optional() }))
    .max(1000)
    .optional(),
  batchId: z.string().optional(),
});
const EndBody = z.object({ status: z.string().default('FINISHED') });
const SearchBody = z.object({
  experimentIds: z.array(z.string()).optional(),
  experiments: z.array(z.string()).optional(),
  filter: z.string().max(10_000).optional(),
  orderBy: z.array(z.string()).optional(),
  maxResults: z.number().int().positive().max(10_000).optional(),
});

/**
 * Experiment tracking over HTTP: experiments, runs, log-batch, artifacts, search, and lineage to
 * model versions; and the same over MLflow's REST API under /api/2.0/ (mlflow/mlflow-api.ts).
 */
export function createTrackingApi({ apiKeyHashes, ...deps }: TrackingApiOptions): Hono {
  const { tracking, artifacts, registry } = deps;
  const app = new Hono();
  app.onError(onError);
  app.notFound(notFound());
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.get('/openapi.json', (c) => c.json(trackingOpenApi()));
  for (const path of ['/experiments', '/experiments/*', '/runs', '/runs/*']) app.use(path, requireApiKey(apiKeyHashes));
  addMlflowRoutes(app, deps, apiKeyHashes);

  app.post('/experiments', async (c) => {
    const body = await readRequestBody(c.req.raw, ExperimentBody, 'experiment');
    const result = await (await tracking()).createExperiment(body.name, body.tags);
    return c.json(result, result.created ? 201 : 200);
  });
  app.get('/experiments', async (c) => c.json({ experiments: await (await tracking()).listExperiments() }));
  app.get('/experiments/:id', async (c) => {
    const experiment = await (await tracking()).getExperiment(c.req.param('id'));
    if (!experiment) throw new PlatformError('TRACKING.EXPERIMENT_NOT_FOUND', `No experiment with id "${c.req.param('id')}".`);
    return c.json(experiment);
  });

  app.post('/runs', async (c) => {
    const body = await readRequestBody(c.req.raw, RunBody, 'run');
    const store = await tracking();
    const experimentId = body.experimentId ?? (await store.createExperiment(body.experiment!)).experiment.id;
    return c.json({ run: await store.createRun({ experimentId, name: body.name, tags: body.tags }) }, 201);
  });
  app.post('/runs/search', async (c) => {
    const { experimentIds = [], experiments = [], ...search } = await readRequestBody(c.req.raw, SearchBody, 'run search');
    const store = await tracking();
    const named = await resolveExperimentIds(store, experiments);
    return c.json({ runs: await store.searchRuns({ ...search, experimentIds: [...experimentIds, ...named] }) });
  });
  app.get('/runs/:id', async (c) =>
    c.json(await describeRun(c.req.param('id'), { tracking: await tracking(), artifacts: await artifacts(), registry: await registry() })),
  );
  app.post('/runs/:id/log-batch', async (c) => {
    const body = await readRequestBody(c.req.raw, LogBatchBody, 'log-batch');
    const now = Date.now();
    const metrics = (body.metrics ?? []).map((point) => ({ ...point, timestamp: point.timestamp ?? now }));
    await (await tracking()).logBatch(c.req.param('id'), { params: body.params, tags: body.tags, metrics, batchId: body.batchId });
    return c.json({ logged: { params: Object.keys(body.params ?? {}).length, tags: Object.keys(body.tags ?? {}).length, metrics: metrics.length } });
  });
  app.post('/runs/:id/end', async (c) => {
    const status = validateEndStatus((await readRequestBody(c.req.raw, EndBody, 'end-run')).status);
    return c.json({ run: await (await tracking()).endRun(c.req.param('id'), status) });
  });
  app.get('/runs/:id/metrics', async (c) => {
    const key = c.req.query('key');
    if (!key) throw new PlatformError('REQUEST.INVALID', 'Name the metric: GET /runs/<id>/metrics?key=<metric>.');
    return c.json({ key, history: await (await tracking()).metricHistory(c.req.param('id'), key) });
  });

  app.get('/runs/:id/artifacts', async (c) => {
    await requireRun(await tracking(), c.req.param('id'));
    return c.json({ artifacts: await listRunArtifacts(await artifacts(), c.req.param('id')) });
  });
  // The query is checked before any store is reached: a bad request costs no backend call.
  app.put('/runs/:id/artifacts/content', async (c) => {
    const runId = c.req.param('id');
    const path = requirePath(c.req.query('path'));
    await requireRun(await tracking(), runId);
    // Buffered: a Cloud Functions request body is at most 32 MiB; larger files go straight to the bucket (SDK).
    const object = await putRunArtifact(await artifacts(), runId, path, new Uint8Array(await c.req.arrayBuffer()));
    return c.json({ artifact: { path, size: object.size, uri: object.uri } }, 201);
  });
  app.get('/runs/:id/artifacts/content', async (c) => {
    const path = requirePath(c.req.query('path'));
    const bytes = await readRunArtifact(await artifacts(), c.req.param('id'), path);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { 'content-type': 'application/octet-stream' });
  });
  return app;
}

function requirePath(path: string | undefined): string {
  if (!path) throw new PlatformError('REQUEST.INVALID', 'Name the artifact with ?path=<path inside the run>, e.g. ?path=plots/roc.png.');
  return path;
}
