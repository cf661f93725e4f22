import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Hono } from 'hono';
import type { Context } from 'hono';
import { PlatformError } from '../../shared/domain/errors.js';
import type { Tensor } from '../../shared/domain/model-signature.js';
import { predictionRecords } from '../../shared/domain/prediction-rows.js';
import type { ModelVersion } from '../../shared/domain/registry.js';
import { decodeInferRequest, encodeInferResponse, modelMetadataResponse } from '../../shared/domain/serving/open-inference.js';
import { type InputPlan, planInputs } from '../../shared/domain/serving/input-plan.js';
import { decodeInstances, encodePredictions, outputsPerInstance } from '../../shared/domain/serving/predict-codec.js';
import { requireApiKey } from '../../shared/http/auth.js';
import { errorHandler, notFound } from '../../shared/http/errors.js';
import { type ReadJsonBodyOptions, readJsonBody } from '../../shared/http/json.js';
import { ServingMetrics } from '../../shared/http/metrics.js';
import type { LoadedModel } from '../../shared/ports/model-runner.port.js';
import type { PredictionLog } from '../../shared/services/prediction-log.js';
import { docsPage, servingOpenApi } from './openapi.js';

/** What a serving app is built from: one loaded model version and its limits. */
export interface ServingAppOptions {
  version: ModelVersion;
  loaded: LoadedModel;
  predictionLog?: PredictionLog;
  apiKeyHashes?: string[];
  maxBatch?: number;
  maxBodyBytes?: number;
  projectId?: string;
}

/**
 * The serving API of one pinned model version: /predict, the Open Inference Protocol (v2),
 * health, metrics and docs. Every bad input is a 4xx naming the problem; nothing crashes it.
 */
export function createServingApp({
  version,
  loaded,
  predictionLog,
  apiKeyHashes = [],
  maxBatch = 1000,
  maxBodyBytes = 1024 * 1024,
  projectId,
}: ServingAppOptions): Hono {
  const name = version.model;
  const plan: InputPlan = planInputs(loaded.signature, loaded.metadata);
  const served = { sha256: loaded.served.sha256, derived: loaded.served.derived };
  const openApi = servingOpenApi(name, version.version, loaded.signature, plan);
  const metrics = new ServingMetrics();
  const app = new Hono();

  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    metrics.observe(c.req.routePath, c.res.status, (performance.now() - started) / 1000);
  });
  app.onError(errorHandler({ projectId, logRefusals: true }));
  app.notFound(notFound('See /docs.'));

  app.get('/health', (c) => c.json({ status: 'ok', model: name, version: version.version, served }));
  app.get('/v2/health/live', (c) => c.json({ live: true }));
  app.get('/v2/health/ready', (c) => c.json({ ready: true }));
  app.get('/openapi.json', (c) => c.json(openApi));
  app.get('/docs', (c) => c.html(docsPage(openApi)));
  app.get('/metrics', (c) => c.text(renderMetrics(metrics, version, served, predictionLog), 200, { 'content-type': 'text/plain; version=0.0.4' }));

  // hono/body-limit read the body through the full WHATWG Request, ~108 µs a request (BENCHMARKS.md);
  // readJsonBody checks the declared length up front instead, and the bytes' length once read.
  // The options are built once here, not per request.
  const guard = [requireApiKey(apiKeyHashes)] as const;
  const predictBody: ReadJsonBodyOptions = { maxBytes: maxBodyBytes, requireJsonType: true, example: '{"instances": [[...]]}' };
  const inferBody: ReadJsonBodyOptions = { ...predictBody, example: '{"inputs": [{"name": ..., "shape": ..., "datatype": ..., "data": ...}]}' };

  app.post('/predict', ...guard, async (c) => {
    const body = await readJsonBody(c.req.raw, predictBody);
    const requestTime = new Date().toISOString();
    const { inputs, count, features } = decodeInstances(plan, body, { maxBatch });
    const { outputs, latencyMs } = await infer(loaded, inputs);
    const ids = newIds(count);
    metrics.instancesPredicted += count;
    const perInstance = outputsPerInstance(loaded.signature, outputs, count);
    predictionLog?.log(predictionRecords({ model: name, version: version.version, requestTime, latencyMs, source: 'online' }, ids, features, perInstance));
    // With several outputs the answer is the same per-instance records the log takes; build them once.
    const predictions = loaded.signature.outputs.length > 1 ? perInstance : encodePredictions(loaded.signature, outputs, count);
    return c.json({ predictions, model: name, version: version.version, ids });
  });

  const checkModel = (c: Context) => {
    const requested = c.req.param('name');
    const requestedVersion = c.req.param('version');
    if (requested !== name) throw new PlatformError('REGISTRY.MODEL_NOT_FOUND', `Model "${requested}" is not served here; this endpoint serves "${name}".`);
    if (requestedVersion !== undefined && requestedVersion !== String(version.version)) {
      throw new PlatformError(
        'REGISTRY.VERSION_NOT_FOUND',
        `Version ${requestedVersion} of "${name}" is not served here; this endpoint serves version ${version.version}.`,
      );
    }
  };
  for (const base of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    app.get(base, (c) => {
      checkModel(c);
      return c.json(modelMetadataResponse(name, version.version, loaded.signature));
    });
    app.get(`${base}/ready`, (c) => {
      checkModel(c);
      return c.json({ name, ready: true });
    });
    app.post(`${base}/infer`, ...guard, async (c) => {
      checkModel(c);
      const body = await readJsonBody(c.req.raw, inferBody);
      const requestTime = new Date().toISOString();
      const request = decodeInferRequest(loaded.signature, body, { maxBatch, plan });
      const { outputs, latencyMs } = await infer(loaded, request.inputs);
      metrics.instancesPredicted += request.count;
      const ids = newIds(request.count);
      const logged = outputsPerInstance(loaded.signature, outputs, request.count);
      predictionLog?.log(predictionRecords({ model: name, version: version.version, requestTime, latencyMs, source: 'online' }, ids, request.features, logged));
      const response = encodeInferResponse({
        modelName: name,
        modelVersion: String(version.version),
        id: request.id,
        outputs,
        signature: loaded.signature,
        requestedOutputs: request.requestedOutputs,
      });
      return c.json({ ...response, parameters: { prediction_ids: ids } });
    });
    for (const path of [base, `${base}/ready`]) refuseOtherMethods(app, path, 'GET');
    refuseOtherMethods(app, `${base}/infer`, 'POST');
  }
  refuseOtherMethods(app, '/predict', 'POST');
  for (const path of ['/health', '/v2/health/live', '/v2/health/ready', '/openapi.json', '/docs', '/metrics']) refuseOtherMethods(app, path, 'GET');
  return app;
}

async function infer(loaded: LoadedModel, inputs: Record<string, Tensor>): Promise<{ outputs: Record<string, Tensor>; latencyMs: number }> {
  const started = performance.now();
  const outputs = await loaded.run(inputs);
  return { outputs, latencyMs: performance.now() - started };
}

function newIds(count: number): string[] {
  const ids = new Array<string>(count);
  for (let index = 0; index < count; index++) ids[index] = randomUUID();
  return ids;
}

/** Answers 405, naming the allowed methods, for any other method on a path the app serves. */
function refuseOtherMethods(app: Hono, path: string, allowed: string): void {
  app.all(path, (c) => {
    c.header('allow', allowed);
    throw new PlatformError('REQUEST.METHOD_NOT_ALLOWED', `${c.req.method} is not allowed on ${c.req.path}: use ${allowed}.`);
  });
}

function renderMetrics(metrics: ServingMetrics, version: ModelVersion, served: { sha256: string }, predictionLog?: PredictionLog): string {
  const stats = predictionLog?.stats;
  return metrics.render([
    {
      name: 'mlops_model_info',
      help: 'The model version this revision serves.',
      type: 'gauge',
      samples: [{ labels: { model: version.model, version: String(version.version), sha256: version.sha256, served_sha256: served.sha256 }, value: 1 }],
    },
    {
      name: 'mlops_prediction_log_published_total',
      help: 'Prediction records published to the predictions topic.',
      type: 'counter',
      samples: [{ value: stats?.published ?? 0 }],
    },
    {
      name: 'mlops_prediction_log_publish_failures_total',
      help: 'Failed publishes of prediction batches.',
      type: 'counter',
      samples: [{ value: stats?.publishFailures ?? 0 }],
    },
    {
      name: 'mlops_prediction_log_dropped_total',
      help: 'Prediction records given up (buffer over its memory budget, or still waiting at shutdown).',
      type: 'counter',
      samples: [{ value: stats?.dropped ?? 0 }],
    },
    { name: 'mlops_prediction_log_buffered', help: 'Prediction records waiting to be published.', type: 'gauge', samples: [{ value: stats?.buffered ?? 0 }] },
    {
      name: 'mlops_prediction_log_buffered_bytes',
      help: 'Estimated memory of the records waiting to be published.',
      type: 'gauge',
      samples: [{ value: stats?.bufferedBytes ?? 0 }],
    },
  ]);
}
