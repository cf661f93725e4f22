import { PubSub, type Message } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { createServingApp } from '../../functions/serve/app.js';
import { PubSubEventBus } from '../../shared/adapters/pubsub/pubsub-event-bus.js';
import { PredictionsLogged } from '../../shared/domain/events.js';
import { hashApiKey } from '../../shared/http/auth.js';
import { PredictionLog } from '../../shared/services/prediction-log.js';
import { eventually, useEmulators } from '../support/environment.js';
import { BINARY_CLASSIFIER, REGRESSOR, binaryClassifierOnnx, regressorOnnx } from '../support/models.js';
import { listen, versionOf } from '../support/serving.js';

const { projectId } = useEmulators();
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const probability = (row: number[]) => sigmoid(row.reduce((sum, value, index) => sum + value * BINARY_CLASSIFIER.weights[index]!, BINARY_CLASSIFIER.intercept));
const regression = (row: number[]) => row.reduce((sum, value, index) => sum + value * REGRESSOR.weights[index]!, REGRESSOR.intercept);

describe('serving on a real HTTP server with real ONNX models', () => {
  const pubsub = new PubSub({ projectId });
  const bus = new PubSubEventBus({ projectId });
  const logged: PredictionsLogged[] = [];
  let classifier: { url: string; close(): Promise<void> };
  let regressor: { url: string; close(): Promise<void> };
  let secured: { url: string; close(): Promise<void> };
  let predictionLog: PredictionLog;

  beforeAll(async () => {
    const [topic] = await pubsub.createTopic('predictions');
    const [subscription] = await topic.createSubscription('predictions-test');
    subscription.on('message', (message: Message) => {
      logged.push(PredictionsLogged.parse(JSON.parse(message.data.toString())));
      message.ack();
    });
    predictionLog = new PredictionLog({ bus: () => bus, flushIntervalMs: 10 });
    const churn = await versionOf('churn', 3, binaryClassifierOnnx());
    classifier = await listen(createServingApp({ ...churn, predictionLog, maxBatch: 64, maxBodyBytes: 64 * 1024 }));
    const prices = await versionOf('house-prices', 1, regressorOnnx());
    regressor = await listen(createServingApp(prices));
    secured = await listen(createServingApp({ ...churn, apiKeyHashes: [hashApiKey('key-1')] }));
  });

  afterAll(async () => {
    await Promise.all([classifier.close(), regressor.close(), secured.close()]);
    await bus.close();
    await pubsub.close();
  });

  const post = (base: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('answers /health with the loaded model and version', async () => {
    expect(await (await fetch(`${classifier.url}/health`)).json()).toEqual({
      status: 'ok',
      model: 'churn',
      version: 3,
      served: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/), derived: false },
    });
  });

  it('coalesces concurrent requests into shared model runs, each request getting exactly its own predictions', async () => {
    // A wait lets requests from this same process, which arrive a few at a time, find each other.
    const coalescing = await listen(
      createServingApp({ ...(await versionOf('house-prices', 1, regressorOnnx())), batching: { enabled: true, maxRows: 256, maxWaitMs: 20 } }),
    );
    onTestFinished(() => coalescing.close());
    const metric = async (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(await (await fetch(`${coalescing.url}/metrics`)).text())?.[1]);
    const [runsBefore, requestsBefore] = [await metric('mlops_model_runs_total'), await metric('mlops_model_run_requests_total')];
    const rows = Array.from({ length: 64 }, (_, index) => [index, index / 2, -index]);
    const answers = await Promise.all(
      rows.map(async (row, index) => {
        const instances = index % 3 === 0 ? [row, row] : [row];
        return { instances, body: (await (await post(coalescing.url, '/predict', { instances })).json()) as { predictions: number[]; ids: string[] } };
      }),
    );
    for (const { instances, body } of answers) {
      expect(body.predictions).toHaveLength(instances.length);
      expect(body.predictions.map((prediction, index) => prediction - regression(instances[index]!)).every((error) => Math.abs(error) < 1e-4)).toBe(true);
      expect(body.ids).toHaveLength(instances.length);
    }
    const runs = (await metric('mlops_model_runs_total')) - runsBefore;
    const requests = (await metric('mlops_model_run_requests_total')) - requestsBefore;
    expect(requests).toBe(64);
    expect(runs).toBeLessThan(64);
  });

  it('predicts a batch of arrays and of named objects alike, one id per instance', async () => {
    const rows = [
      [1, 2, 3, 4],
      [-1, 0.5, 0, 2],
    ];
    const named = rows.map((row) => Object.fromEntries(BINARY_CLASSIFIER.featureNames.map((name, index) => [name, row[index]])));
    for (const instances of [rows, named]) {
      const response = await post(classifier.url, '/predict', { instances });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { predictions: { probability: number; label: number }[]; model: string; version: number; ids: string[] };
      expect(body.model).toBe('churn');
      expect(body.version).toBe(3);
      expect(new Set(body.ids).size).toBe(2);
      body.predictions.forEach((prediction, index) => {
        expect(prediction.probability).toBeCloseTo(probability(rows[index]!), 6);
        expect(prediction.label).toBe(probability(rows[index]!) >= 0.5 ? 1 : 0);
      });
    }
  });

  it('predicts a regressor as plain numbers', async () => {
    const body = (await (await post(regressor.url, '/predict', { instances: [[1, 2, 3]] })).json()) as { predictions: number[] };
    expect(body.predictions[0]).toBeCloseTo(regression([1, 2, 3]), 4);
  });

  it('refuses every kind of bad input with a 4xx that names the problem, and keeps serving', async () => {
    const cases: [string | object, number, RegExp, string?][] = [
      ['{"instances": [[1,2,3,4]', 400, /not valid JSON/, 'REQUEST.INVALID'],
      ['', 400, /body is empty/, 'REQUEST.INVALID'],
      [{ rows: [[1, 2, 3, 4]] }, 400, /instances/],
      [{ instances: [] }, 400, /empty|at least one/i, 'MODEL.INVALID_INPUT'],
      [{ instances: Array.from({ length: 65 }, () => [1, 2, 3, 4]) }, 400, /64/],
      [{ instances: [[1, 2, 3]] }, 400, /4/],
      [{ instances: [{ f0: 1, f1: 2, f2: 3 }] }, 400, /f3/],
      [{ instances: [{ f0: 1, f1: 2, f2: 3, f3: 4, extra: 5 }] }, 400, /extra/],
      [{ instances: [[1, 2, 'NaN', 4]] }, 400, /"NaN"/],
      [{ instances: [[1, 2, null, 4]] }, 400, /null/],
      [{ instances: [[1, 2, true, 4]] }, 400, /true/],
      [{ instances: [[1, 2, [3], 4]] }, 400, /array/i],
      [{ instances: [[1, 2, 3, 4], { f0: 1, f1: 2, f2: 3, f3: 4 }] }, 400, /mix|same kind|array/i],
      [{ instances: [[1e39, 2, 3, 4]] }, 400, /float32|range/i],
      [JSON.stringify({ instances: Array.from({ length: 60 }, () => Array(4).fill(0.123456789)) }).padEnd(70 * 1024, ' '), 413, /limit/, 'REQUEST.TOO_LARGE'],
    ];
    for (const [body, status, message, code] of cases) {
      const response = await post(classifier.url, '/predict', body);
      const payload = (await response.json()) as { error: string; code: string };
      expect({ body: String(JSON.stringify(body)).slice(0, 60), status: response.status }).toEqual({ body: String(JSON.stringify(body)).slice(0, 60), status });
      expect(payload.error).toMatch(message);
      expect(payload.code).toBe(code ?? 'MODEL.INVALID_INPUT');
    }
    expect((await fetch(`${classifier.url}/health`)).status).toBe(200);
  });

  it('takes only UTF-8 JSON: 415 for another media type, 400 for invalid UTF-8 or a byte order mark', async () => {
    const body = JSON.stringify({ instances: [[1, 2, 3, 4]] });
    const send = (headers: Record<string, string>, payload: BodyInit = body) => fetch(`${classifier.url}/predict`, { method: 'POST', headers, body: payload });
    const cases: [Record<string, string>, BodyInit, number, string][] = [
      [{ 'content-type': 'text/plain' }, body, 415, 'REQUEST.UNSUPPORTED_MEDIA_TYPE'],
      [{ 'content-type': 'application/x-www-form-urlencoded' }, body, 415, 'REQUEST.UNSUPPORTED_MEDIA_TYPE'],
      [{ 'content-type': 'application/json; charset=latin1' }, body, 415, 'REQUEST.UNSUPPORTED_MEDIA_TYPE'],
      [{}, new Blob([body]), 415, 'REQUEST.UNSUPPORTED_MEDIA_TYPE'],
      [{ 'content-type': 'application/json' }, new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), 400, 'REQUEST.INVALID'],
      [{ 'content-type': 'application/json' }, new Uint8Array([0xef, 0xbb, 0xbf, ...Buffer.from(body)]), 400, 'REQUEST.INVALID'],
    ];
    for (const [headers, payload, status, code] of cases) {
      const response = await send(headers, payload);
      expect({ headers, status: response.status, code: ((await response.json()) as { code: string }).code }).toEqual({ headers, status, code });
    }
    for (const type of ['application/json', 'application/json; charset=utf-8', 'application/vnd.api+json'])
      expect((await send({ 'content-type': type })).status).toBe(200);
  });

  it('answers 405 with the allowed method for a wrong method on a known path', async () => {
    for (const [method, path, allowed] of [
      ['GET', '/predict', 'POST'],
      ['PUT', '/predict', 'POST'],
      ['POST', '/health', 'GET'],
      ['DELETE', '/v2/models/churn', 'GET'],
      ['GET', '/v2/models/churn/infer', 'POST'],
    ]) {
      const response = await fetch(`${classifier.url}${path}`, { method });
      expect({ method, path, status: response.status, allow: response.headers.get('allow') }).toEqual({ method, path, status: 405, allow: allowed });
      expect(((await response.json()) as { code: string }).code).toBe('REQUEST.METHOD_NOT_ALLOWED');
    }
    const nowhere = await fetch(`${classifier.url}/nowhere`);
    expect({ status: nowhere.status, body: await nowhere.json() }).toEqual({
      status: 404,
      body: { code: 'REQUEST.NOT_FOUND', error: 'No route GET /nowhere. See /docs.' },
    });
  });

  it('speaks the Open Inference Protocol: health, metadata, readiness and infer', async () => {
    expect(await (await fetch(`${classifier.url}/v2/health/live`)).json()).toEqual({ live: true });
    expect(await (await fetch(`${classifier.url}/v2/health/ready`)).json()).toEqual({ ready: true });
    const metadata = {
      name: 'churn',
      versions: ['3'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [
        { name: 'probability', datatype: 'FP32', shape: [-1, 1] },
        { name: 'label', datatype: 'INT64', shape: [-1, 1] },
      ],
    };
    expect(await (await fetch(`${classifier.url}/v2/models/churn`)).json()).toEqual(metadata);
    expect(await (await fetch(`${classifier.url}/v2/models/churn/versions/3`)).json()).toEqual(metadata);
    expect(await (await fetch(`${classifier.url}/v2/models/churn/ready`)).json()).toEqual({ name: 'churn', ready: true });

    const request = {
      id: '42',
      inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', data: [1, 2, 3, 4, -1, 0.5, 0, 2] }],
      outputs: [{ name: 'probability' }],
    };
    for (const path of ['/v2/models/churn/infer', '/v2/models/churn/versions/3/infer']) {
      const response = await post(classifier.url, path, request);
      expect(response.status).toBe(200);
      const body = (await response.json()) as {
        model_name: string;
        model_version: string;
        id: string;
        outputs: { name: string; datatype: string; shape: number[]; data: number[] }[];
      };
      expect(body).toMatchObject({ model_name: 'churn', model_version: '3', id: '42' });
      expect(body.outputs.map(({ name, datatype, shape }) => ({ name, datatype, shape }))).toEqual([{ name: 'probability', datatype: 'FP32', shape: [2, 1] }]);
      expect(body.outputs[0]!.data[0]).toBeCloseTo(probability([1, 2, 3, 4]), 6);
      expect(body.outputs[0]!.data[1]).toBeCloseTo(probability([-1, 0.5, 0, 2]), 6);
    }
  });

  it('answers Open Inference errors as {"error": ...} with the right status', async () => {
    const cases: [string, string, unknown, number, RegExp][] = [
      ['GET', '/v2/models/other', undefined, 404, /"other" is not served here/],
      ['GET', '/v2/models/churn/versions/9', undefined, 404, /Version 9/],
      [
        'POST',
        '/v2/models/churn/infer',
        { inputs: [{ name: 'features', shape: [1, 4], datatype: 'INT32', data: [1, 2, 3, 4] }] },
        400,
        /INT32.*FP32|FP32.*INT32/,
      ],
      ['POST', '/v2/models/churn/infer', { inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, 400, /8|4/],
      ['POST', '/v2/models/churn/infer', { inputs: [{ name: 'wrong', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }, 400, /wrong|features/],
      [
        'POST',
        '/v2/models/churn/infer',
        { inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }], outputs: [{ name: 'nope' }] },
        400,
        /nope/,
      ],
    ];
    for (const [method, path, body, status, message] of cases) {
      const response = await fetch(`${classifier.url}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      expect({ path, status: response.status }).toEqual({ path, status });
      const payload = (await response.json()) as Record<string, unknown>;
      // The protocol's error object is {"error": message}; the platform adds its stable code beside it.
      expect(Object.keys(payload)).toEqual(['error', 'code']);
      expect(payload.error).toMatch(message);
    }
  });

  it('publishes every prediction to the predictions topic, with features, outputs and version', async () => {
    const response = await post(classifier.url, '/predict', {
      instances: [
        [0, 0, 0, 1],
        [1, 1, 1, 1],
        [2, 0, 1, 0],
      ],
    });
    const { ids } = (await response.json()) as { ids: string[] };
    const records = await eventually(async () => {
      const found = logged.flatMap((message) => message.predictions).filter((record) => ids.includes(record.predictionId));
      return found.length === 3 ? found : undefined;
    });
    const first = records.find((record) => record.predictionId === ids[0])!;
    expect(first).toMatchObject({ model: 'churn', version: 3, source: 'online', features: { f0: 0, f1: 0, f2: 0, f3: 1 } });
    expect(first.outputs.probability).toBeCloseTo(probability([0, 0, 0, 1]), 6);
    expect(first.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('refuses predict and infer without a valid key when keys are configured, and leaves health open', async () => {
    const body = { instances: [[1, 2, 3, 4]] };
    expect((await post(secured.url, '/predict', body)).status).toBe(401);
    expect((await post(secured.url, '/predict', body, { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await post(secured.url, '/v2/models/churn/infer', { inputs: [] })).status).toBe(401);
    expect((await post(secured.url, '/predict', body, { authorization: 'Bearer key-1' })).status).toBe(200);
    expect((await post(secured.url, '/predict', body, { 'x-api-key': 'key-1' })).status).toBe(200);
    expect((await fetch(`${secured.url}/health`)).status).toBe(200);
    expect((await fetch(`${secured.url}/v2/health/ready`)).status).toBe(200);
  });

  it('exposes Prometheus metrics: requests by route and status, latency, instances, version, log health, event loop and GC', async () => {
    const text = await (await fetch(`${classifier.url}/metrics`)).text();
    expect(text).toMatch(/mlops_requests_total\{route="\/predict",status="200"\} \d+/);
    expect(text).toMatch(/mlops_requests_total\{route="\/predict",status="400"\} \d+/);
    expect(text).toMatch(/mlops_request_duration_seconds_bucket\{route="\/predict",le="\+Inf"\} \d+/);
    expect(text).toMatch(/mlops_instances_predicted_total [1-9]\d*/);
    expect(text).toMatch(/mlops_model_info\{model="churn",version="3",sha256="([0-9a-f]{64})",served_sha256="\1"\} 1/);
    expect(text).toMatch(/mlops_prediction_log_publish_failures_total 0/);
    // What holds the JavaScript thread besides requests: the event loop's delay and garbage collection.
    expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m);
    expect(text).toMatch(/^nodejs_gc_duration_seconds_count\{kind="minor"\} \d+/m);
  });

  it('describes every route in /openapi.json and a self-contained /docs page', async () => {
    const document = (await (await fetch(`${classifier.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toBe('3.1.0');
    for (const path of [
      '/health',
      '/predict',
      '/v2/health/live',
      '/v2/health/ready',
      '/v2/models/churn',
      '/v2/models/churn/ready',
      '/v2/models/churn/infer',
      '/v2/models/churn/versions/3/infer',
      '/metrics',
    ]) {
      expect(document.paths).toHaveProperty([path]);
    }
    const page = await (await fetch(`${classifier.url}/docs`)).text();
    expect(page).toContain('POST /predict');
    expect(page).not.toMatch(/<script|https?:\/\/(?!127)/);
  });

  it('counts a failed prediction-log publish without failing the prediction', async () => {
    const failing = new PredictionLog({
      bus: () => ({
        publish: async () => Promise.reject(new Error('pubsub down')),
        request: async () => Promise.reject(new Error('pubsub down')),
        close: async () => {},
      }),
      flushIntervalMs: 5,
    });
    const churn = await versionOf('churn', 3, binaryClassifierOnnx());
    const server = await listen(createServingApp({ ...churn, predictionLog: failing }));
    try {
      expect((await post(server.url, '/predict', { instances: [[1, 2, 3, 4]] })).status).toBe(200);
      await eventually(async () => (failing.stats.publishFailures > 0 ? true : undefined));
      expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/mlops_prediction_log_publish_failures_total [1-9]/);
    } finally {
      await server.close();
    }
  });
});
