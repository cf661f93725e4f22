import type { RequestListener } from 'node:http';
import { performance } from 'node:perf_hooks';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import type { Context } from 'hono';
import { PlatformError } from '../../shared/domain/errors.js';
import { ONLINE_FEATURES_TAG, onlineDatasetOf } from '../../shared/domain/online-features.js';
import type { ModelVersion } from '../../shared/domain/registry.js';
import { SHADOW_OF_HEADER } from '../../shared/domain/rollout.js';
import { modelMetadataResponse } from '../../shared/domain/serving/open-inference.js';
import type { InputPlan } from '../../shared/domain/serving/input-plan.js';
import { requireApiKey } from '../../shared/http/auth.js';
import { errorHandler, errorResponse, notFound } from '../../shared/http/errors.js';
import { type ReadJsonBodyOptions, readJsonBody } from '../../shared/http/json.js';
import { ServingMetrics } from '../../shared/http/metrics.js';
import { runtimeMetrics } from '../../shared/http/runtime-metrics.js';
import type { ArtifactStore } from '../../shared/ports/artifact-store.port.js';
import type { LoadedModel } from '../../shared/ports/model-runner.port.js';
import type { OnlineFeatureReader } from '../../shared/ports/online-feature-store.port.js';
import type { MicroBatchOptions } from '../../shared/services/micro-batcher.js';
import type { PredictionLog } from '../../shared/services/prediction-log.js';
import { ExplainRoute } from './explain-route.js';
import { docsPage, servingOpenApi } from './openapi.js';
import { renderMetrics } from './serving-metrics.js';
import { predictListener } from './predict-listener.js';
import { DEFAULT_BATCHING, type OnlineFeatures, Predictor, inputPlanOf, shadowIdsOf } from './predictor.js';
import { type RolloutPartsOptions, rolloutParts } from './rollout-parts.js';
import type { RolloutSettings } from './rollout-settings.js';

/** What a serving app is built from: one loaded model version and its limits. */
export interface ServingAppOptions {
  version: ModelVersion;
  loaded: LoadedModel;
  /** The verified model file (ServingModel.bytes), which /explain reads a linear model's weights from. */
  bytes?: Uint8Array;
  /** Where /explain reads the version's stored background when a request sends none. */
  artifacts?: ArtifactStore;
  predictionLog?: PredictionLog;
  apiKeyHashes?: string[];
  maxBatch?: number;
  maxBodyBytes?: number;
  projectId?: string;
  /** How concurrent requests are coalesced into one model run; on by default. */
  batching?: MicroBatchOptions;
  /** This revision's part in a rollout (parseRolloutSettings); a plain primary by default. */
  rollout?: RolloutSettings;
  /** Limits of the shadow mirror and the sticky split, for tests. */
  rolloutLimits?: Pick<RolloutPartsOptions, 'mirror' | 'split'>;
  /** Where `entity_ids` are looked up; required when the version is tagged features.online=<dataset>. */
  onlineFeatures?: OnlineFeatureReader;
}

/** A serving app: every route on Hono, and the listener a node:http server runs it with. */
export interface ServingApp {
  /** Every route as a Hono app (the Functions Framework entry runs this). */
  app: Hono;
  /** For node:http: POST /predict answered on Node's own request and response, every other route by `app`. */
  listener: RequestListener;
  predictor: Predictor;
}

const PREDICT_EXAMPLE = '{"instances": [[...]]}';

/**
 * The serving API of one pinned model version: /predict, /explain, the Open Inference Protocol (v2),
 * health, metrics and docs. Every bad input is a 4xx naming the problem; nothing crashes it.
 */
export function createServingApp({
  version,
  loaded,
  bytes,
  artifacts,
  predictionLog,
  apiKeyHashes = [],
  maxBatch = 1000,
  maxBodyBytes = 1024 * 1024,
  projectId,
  batching = DEFAULT_BATCHING,
  rollout = { role: 'primary' },
  rolloutLimits = {},
  onlineFeatures,
}: ServingAppOptions): ServingApp {
  const name = version.model;
  const plan: InputPlan = inputPlanOf(loaded, version);
  const served = { sha256: loaded.served.sha256, derived: loaded.served.derived };
  const online = onlineFeaturesOf(version, onlineFeatures);
  const openApi = servingOpenApi(name, version.version, loaded.signature, plan, online?.dataset);
  const metrics = new ServingMetrics();
  // Started with the app, so the first scrape already covers the time since.
  runtimeMetrics();
  const parts = rolloutParts({ settings: rollout, version, plan, predictionLog, ...rolloutLimits });
  const { mirror, countRefusal } = parts;
  const source = parts.shadowRole ? 'shadow' : 'online';
  const predictor = new Predictor({ version, loaded, plan, metrics, predictionLog, maxBatch, batching, source, onlineFeatures: online });
  const explainer = new ExplainRoute({ version, loaded, plan, modelBytes: bytes, artifacts, maxBatch });
  const errors = { projectId, logRefusals: true };
  const shadowIds = (c: Context) => (parts.shadowRole ? shadowIdsOf(c.req.header(SHADOW_OF_HEADER)) : undefined);
  const app = new Hono();

  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    metrics.observe(c.req.routePath, c.res.status, (performance.now() - started) / 1000);
  });
  const answerError = errorHandler(errors);
  app.onError((error, c) => {
    if (countRefusal && isPredictionPath(c.req.path)) {
      const { status, body } = errorResponse(error);
      countRefusal(status, body.code);
    }
    return answerError(error, c);
  });
  app.notFound(notFound('See /docs.'));

  app.get('/health', (c) => c.json({ status: 'ok', model: name, version: version.version, served }));
  app.get('/v2/health/live', (c) => c.json({ live: true }));
  app.get('/v2/health/ready', (c) => c.json({ ready: true }));
  app.get('/openapi.json', (c) => c.json(openApi));
  app.get('/docs', (c) => c.html(docsPage(openApi)));
  app.get('/metrics', (c) =>
    c.text(renderMetrics(metrics, version, served, predictor, predictionLog, parts.metrics()), 200, { 'content-type': 'text/plain; version=0.0.4' }),
  );

  // hono/body-limit read the body through the full WHATWG Request, ~108 µs a request (BENCHMARKS.md);
  // readJsonBody checks the declared length up front instead, and the bytes' length once read.
  // The options are built once here, not per request.
  const guard = [requireApiKey(apiKeyHashes)] as const;
  const predictBody: ReadJsonBodyOptions = { maxBytes: maxBodyBytes, requireJsonType: true, example: PREDICT_EXAMPLE };
  const inferBody: ReadJsonBodyOptions = { ...predictBody, example: '{"inputs": [{"name": ..., "shape": ..., "datatype": ..., "data": ...}]}' };
  const explainBody: ReadJsonBodyOptions = { ...predictBody, example: '{"instances": [[...]], "samples": 64}' };

  // On a node:http server `listener` answers this route before Hono sees it (predict-listener.ts).
  app.post('/predict', ...guard, async (c) => {
    const body = await readJsonBody(c.req.raw, predictBody);
    const answer = await predictor.predict(body, shadowIds(c));
    mirror?.offer('/predict', c.req.raw.headers, JSON.stringify(body), answer.ids);
    return c.json(answer);
  });

  app.post('/explain', ...guard, async (c) => c.json(await explainer.explain(await readJsonBody(c.req.raw, explainBody))));

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
      const answer = await predictor.infer(body, shadowIds(c));
      // The shadow serves another version of the same model: the copy names the model, not this version.
      mirror?.offer(`/v2/models/${name}/infer`, c.req.raw.headers, JSON.stringify(body), (answer.parameters as { prediction_ids: string[] }).prediction_ids);
      return c.json(answer);
    });
    app.post(`${base}/explain`, ...guard, async (c) => {
      checkModel(c);
      return c.json(await explainer.infer(await readJsonBody(c.req.raw, inferBody)));
    });
    for (const path of [base, `${base}/ready`]) refuseOtherMethods(app, path, 'GET');
    for (const path of [`${base}/infer`, `${base}/explain`]) refuseOtherMethods(app, path, 'POST');
  }
  for (const path of ['/predict', '/explain']) refuseOtherMethods(app, path, 'POST');
  for (const path of ['/health', '/v2/health/live', '/v2/health/ready', '/openapi.json', '/docs', '/metrics']) refuseOtherMethods(app, path, 'GET');
  const listener = predictListener(
    { predictor, metrics, apiKeyHashes, maxBodyBytes, example: PREDICT_EXAMPLE, errors, rollout: parts, onRefused: countRefusal },
    getRequestListener(app.fetch),
  );
  return { app, listener, predictor };
}

/** The version's online dataset and its reader; a tagged version served without a reader is a deployment fault, refused at start. */
function onlineFeaturesOf(version: ModelVersion, reader: OnlineFeatureReader | undefined): OnlineFeatures | undefined {
  const dataset = onlineDatasetOf(version.tags);
  if (dataset === undefined) return undefined;
  if (!reader) {
    throw new PlatformError(
      'CONFIG.INVALID',
      `Version ${version.version} of "${version.model}" is tagged ${ONLINE_FEATURES_TAG}=${dataset} but the serving app was built without an online feature reader.`,
    );
  }
  return { dataset, reader };
}

/** The routes whose refusals count against the model version: /predict and the v2 infer routes. */
function isPredictionPath(path: string): boolean {
  return path === '/predict' || (path.startsWith('/v2/models/') && path.endsWith('/infer'));
}

/** Answers 405, naming the allowed methods, for any other method on a path the app serves. */
function refuseOtherMethods(app: Hono, path: string, allowed: string): void {
  app.all(path, (c) => {
    c.header('allow', allowed);
    throw new PlatformError('REQUEST.METHOD_NOT_ALLOWED', `${c.req.method} is not allowed on ${c.req.path}: use ${allowed}.`);
  });
}
