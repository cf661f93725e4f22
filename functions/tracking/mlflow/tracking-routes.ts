import { createHash } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { DEFAULT_EXPERIMENT, type MetricPoint, validateRunStatus } from '../../../shared/domain/tracking.js';
import type { TrackingStore } from '../../../shared/ports/tracking-store.port.js';
import { requireRun } from '../../../shared/services/tracking.js';
import { defaultExperiment, addExperimentRoutes } from './experiment-routes.js';
import { Int64, MLFLOW_API, MlflowError, type MlflowDeps, pageOf, Repeated, readMlflowRequest } from './protocol.js';
import { checkedBatch, LogBatch, MetricJsonBody, Text } from './run-batch.js';
import { metricJson, RUN_NAME_TAG, runInfoJson, runJson, USER_TAG } from './run-json.js';

const KeyValue = z.object({ key: z.string(), value: Text });
/** Every run call names its run by run_id; MLflow's older clients send run_uuid (2.x clients send both). */
const RunRef = z.object({ run_id: z.string().min(1).optional(), run_uuid: z.string().min(1).optional() });
const CreateRun = z.object({
  experiment_id: z.string().default(DEFAULT_EXPERIMENT.id),
  user_id: z.string().optional(),
  run_name: z.string().optional(),
  start_time: Int64.optional(),
  tags: z.array(KeyValue).max(1000).optional(),
});
const UpdateRun = RunRef.extend({ status: z.string().optional(), end_time: Int64.optional(), run_name: z.string().optional() });
const LogParam = RunRef.extend({ key: z.string(), value: Text });
const SetTag = RunRef.extend({ key: z.string(), value: Text });
const DeleteTag = RunRef.extend({ key: z.string() });
const RUN_VIEWS = { ACTIVE_ONLY: 'active', DELETED_ONLY: 'deleted', ALL: 'all', 1: 'active', 2: 'deleted', 3: 'all' } as const;
const SearchRuns = z.object({
  experiment_ids: Repeated(z.string()).default([]),
  filter: z.string().max(10_000).optional(),
  run_view_type: z.union([z.enum(['ACTIVE_ONLY', 'DELETED_ONLY', 'ALL']), z.literal(1), z.literal(2), z.literal(3)]).default('ACTIVE_ONLY'),
  max_results: Int64.pipe(z.number().int().min(1).max(50_000)).default(1000),
  order_by: Repeated(z.string()).optional(),
  page_token: z.string().optional(),
});
const MetricHistory = RunRef.extend({ metric_key: z.string(), max_results: Int64.pipe(z.number().int().min(1)).optional(), page_token: z.string().optional() });

/** MLflow's experiment and run calls (service.proto), over the same TrackingStore the native routes use. */
export function addTrackingRoutes(app: Hono, deps: MlflowDeps): void {
  addExperimentRoutes(app, deps);
  const { tracking } = deps;
  const run = (path: string) => `${MLFLOW_API}/runs/${path}`;

  app.post(run('create'), async (c) => {
    const request = await readMlflowRequest(c, CreateRun);
    const store = await tracking();
    if (request.experiment_id === DEFAULT_EXPERIMENT.id) await defaultExperiment(store);
    const tags = Object.fromEntries((request.tags ?? []).map(({ key, value }) => [key, value]));
    const name = request.run_name || tags[RUN_NAME_TAG] || undefined;
    if (request.user_id && !tags[USER_TAG]) tags[USER_TAG] = request.user_id;
    if (name) tags[RUN_NAME_TAG] = name;
    const created = await store.createRun({ experimentId: request.experiment_id, name, tags, startTime: request.start_time });
    return c.json({ run: runJson(created) });
  });
  app.get(run('get'), async (c) => {
    const runId = runIdOf(await readMlflowRequest(c, RunRef));
    const [found, models] = await Promise.all([requireRun(await tracking(), runId), deps.loggedModels().then((store) => store.runModels(runId))]);
    return c.json({ run: runJson(found, models) });
  });
  app.post(run('update'), async (c) => {
    const request = await readMlflowRequest(c, UpdateRun);
    const store = await tracking();
    const runId = runIdOf(request);
    const status = request.status === undefined ? undefined : validateRunStatus(request.status);
    const updated = await store.updateRun(runId, { status, endTime: request.end_time, name: request.run_name || undefined });
    if (request.run_name) await store.logBatch(runId, { tags: { [RUN_NAME_TAG]: request.run_name } });
    return c.json({ run_info: runInfoJson(updated) });
  });
  app.post(run('delete'), async (c) => lifecycle(c, await tracking(), 'deleted'));
  app.post(run('restore'), async (c) => lifecycle(c, await tracking(), 'active'));

  app.post(run('log-parameter'), async (c) => {
    const { key, value, ...ref } = await readMlflowRequest(c, LogParam);
    await (await tracking()).logBatch(runIdOf(ref), { params: { [key]: value } });
    return c.json({});
  });
  app.post(run('log-metric'), async (c) => {
    const { run_id, run_uuid, ...metric } = await readMlflowRequest(c, RunRef.extend(MetricJsonBody.shape));
    const runId = runIdOf({ run_id, run_uuid });
    const point = { ...metric, timestamp: metric.timestamp ?? Date.now() };
    await (await tracking()).logBatch(runId, { metrics: [point], batchId: batchIdOf(runId, [point]) });
    return c.json({});
  });
  app.post(run('log-batch'), async (c) => {
    const request = await readMlflowRequest(c, LogBatch);
    const runId = runIdOf(request);
    const batch = checkedBatch(request);
    await (await tracking()).logBatch(runId, { ...batch, batchId: batchIdOf(runId, batch.metrics) });
    return c.json({});
  });
  app.post(run('set-tag'), async (c) => {
    const { key, value, ...ref } = await readMlflowRequest(c, SetTag);
    const store = await tracking();
    await store.logBatch(runIdOf(ref), { tags: { [key]: value } });
    // MLflow's server renames the run when its name tag is set.
    if (key === RUN_NAME_TAG) await store.updateRun(runIdOf(ref), { name: value });
    return c.json({});
  });
  app.post(run('delete-tag'), async (c) => {
    const { key, ...ref } = await readMlflowRequest(c, DeleteTag);
    const store = await tracking();
    const runId = runIdOf(ref);
    if ((await requireRun(store, runId)).tags[key] === undefined) {
      throw new MlflowError('RESOURCE_DOES_NOT_EXIST', `Run ${runId} has no tag ${JSON.stringify(key)}; its tags are in runs/get.`);
    }
    await store.deleteTag(runId, key);
    return c.json({});
  });

  const search = async (c: Context) => {
    const request = await readMlflowRequest(c, SearchRuns);
    // As MLflow's server: a search naming no experiment finds nothing (the client always names one).
    const runs =
      request.experiment_ids.length === 0
        ? []
        : await (await tracking()).searchRuns({
            experimentIds: request.experiment_ids,
            filter: request.filter,
            orderBy: request.order_by,
            runView: RUN_VIEWS[request.run_view_type],
            maxResults: Number.MAX_SAFE_INTEGER,
          });
    const { items, nextPageToken } = pageOf(runs, request.max_results, request.page_token);
    return c.json({ runs: items.map((found) => runJson(found)), ...(nextPageToken ? { next_page_token: nextPageToken } : {}) });
  };
  app.post(run('search'), search);
  app.get(run('search'), search);

  app.get(`${MLFLOW_API}/metrics/get-history`, async (c) => {
    const request = await readMlflowRequest(c, MetricHistory);
    const store = await tracking();
    const runId = runIdOf(request);
    await requireRun(store, runId);
    const history = await store.metricHistory(runId, request.metric_key);
    const { items, nextPageToken } = pageOf(history, request.max_results ?? Math.max(history.length, 1), request.page_token);
    return c.json({ metrics: items.map(metricJson), ...(nextPageToken ? { next_page_token: nextPageToken } : {}) });
  });
}

/** The run a request names, by run_id or (older clients) run_uuid. */
function runIdOf({ run_id, run_uuid }: { run_id?: string; run_uuid?: string }): string {
  const id = run_id ?? run_uuid;
  if (!id) throw new MlflowError('INVALID_PARAMETER_VALUE', 'Name the run: send run_id (or run_uuid).');
  return id;
}

async function lifecycle(c: Context, store: TrackingStore, stage: 'active' | 'deleted'): Promise<Response> {
  await store.setRunLifecycle(runIdOf(await readMlflowRequest(c, RunRef)), stage);
  return c.json({});
}

/**
 * A batch id made from the points themselves, so a request the client retries (it does on a 5xx or
 * a dropped connection) rewrites the same documents instead of doubling the history, as MLflow's own
 * store keeps one row per identical point. The first timestamp leads, so batches sort by time.
 */
function batchIdOf(runId: string, points: MetricPoint[]): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([runId, points]))
    .digest('hex')
    .slice(0, 24);
  return `${String(points[0]?.timestamp ?? 0).padStart(15, '0')}-${digest}`;
}
