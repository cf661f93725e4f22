import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDataApi } from '../../../../functions/data-api/app.js';
import { createMonitoringApi } from '../../../../functions/monitoring-api/app.js';
import { createRegistryApi } from '../../../../functions/registry-api/app.js';
import { createServingApp } from '../../../../functions/serve/app.js';
import { createTrackingApi } from '../../../../functions/tracking/app.js';
import type { CliContext } from '../../../../scripts/cli/context.js';
import { callFunction } from '../../../../scripts/cli/http.js';
import { PlatformError } from '../../../../shared/domain/errors.js';
import { errorResponse } from '../../../../shared/http/errors.js';
import { DEFAULT_MAX_JSON_BYTES } from '../../../../shared/http/json.js';
import type { EventBus } from '../../../../shared/ports/event-bus.port.js';
import { binaryClassifierOnnx } from '../../../support/models.js';
import { versionOf } from '../../../support/serving.js';

// Every backend fails with a message that must stay in the logs: a request refused for its input
// never reaches one, and a request that does reach one shows how an unexpected failure is answered.
const SECRET = 'connection refused by db.internal:5432 (user=admin password=hunter2)';
const broken = async (): Promise<never> => {
  throw new Error(SECRET);
};
const brokenBus = { publish: broken, close: broken } as unknown as EventBus;
const SERVE_LIMIT = 1024;
const GOOD_INSTANCES = JSON.stringify({ instances: [[1, 2, 3, 4]] });

type Call = [method: string, path: string, body?: string];

/** Each app, a route of it that reaches a backend, and its routes that read a JSON body. */
const APPS: { name: string; reachesBackend: Call; jsonRoutes: string[] }[] = [
  { name: 'data-api', reachesBackend: ['GET', '/ground-truth/stats'], jsonRoutes: ['/ground-truth'] },
  { name: 'monitoring-api', reachesBackend: ['GET', '/drift/churn'], jsonRoutes: [] },
  { name: 'registry-api', reachesBackend: ['GET', '/models'], jsonRoutes: ['/models/churn/aliases/production', '/models/churn/aliases/production/rollback'] },
  { name: 'tracking', reachesBackend: ['GET', '/experiments'], jsonRoutes: ['/experiments', '/runs', '/runs/search', '/runs/abc/log-batch', '/runs/abc/end'] },
  { name: 'serve', reachesBackend: ['POST', '/predict', GOOD_INSTANCES], jsonRoutes: ['/predict', '/v2/models/churn/infer'] },
];

const apps = new Map<string, Hono>();
const logLevel = process.env.MLOPS_LOG_LEVEL;

// The refusals logged as warnings are not what is under test here; the 500 test turns logging back on.
beforeAll(async () => {
  process.env.MLOPS_LOG_LEVEL = 'silent';
  const served = await versionOf('churn', 1, binaryClassifierOnnx());
  const failingModel = { ...served.loaded, run: broken };
  apps.set('data-api', createDataApi({ bus: () => brokenBus, warehouse: broken, apiKeyHashes: [] }));
  apps.set('monitoring-api', createMonitoringApi({ warehouse: broken, apiKeyHashes: [] }));
  apps.set('registry-api', createRegistryApi({ registry: broken, bus: () => brokenBus, policy: { requireStaging: false }, apiKeyHashes: [] }));
  apps.set(
    'tracking',
    createTrackingApi({
      tracking: broken,
      artifacts: broken,
      registry: broken,
      loggedModels: broken,
      bus: () => brokenBus,
      policy: { requireStaging: false },
      apiKeyHashes: [],
    }),
  );
  apps.set('serve', createServingApp({ version: served.version, loaded: failingModel, maxBodyBytes: SERVE_LIMIT }).app);
});
afterAll(() => {
  if (logLevel === undefined) delete process.env.MLOPS_LOG_LEVEL;
  else process.env.MLOPS_LOG_LEVEL = logLevel;
});

async function answer(app: string, [method, path, body]: Call, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const response = await apps.get(app)!.request(path, { method, body, headers: { 'content-type': 'application/json', ...headers } });
  return { status: response.status, body: await response.json() };
}

describe.each(APPS)('$name answers every failure with {error, code}', ({ name, reachesBackend, jsonRoutes }) => {
  it('answers an unknown route with 404 REQUEST.NOT_FOUND naming it', async () => {
    for (const method of ['GET', 'POST']) {
      expect(await answer(name, [method, '/no/such/route', method === 'POST' ? '{}' : undefined])).toEqual({
        status: 404,
        body: { code: 'REQUEST.NOT_FOUND', error: expect.stringContaining(`No route ${method} /no/such/route.`) },
      });
    }
  });

  it('answers an unexpected failure with 500 INTERNAL, logging the message instead of sending it', async () => {
    delete process.env.MLOPS_LOG_LEVEL;
    const written = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const { status, body } = await answer(name, reachesBackend);
      expect({ status, body }).toEqual({ status: 500, body: { code: 'INTERNAL', error: expect.any(String) } });
      expect(JSON.stringify(body)).not.toContain('hunter2');
      const logged = written.mock.calls.flatMap(([line]) => {
        try {
          return [JSON.parse(String(line)) as { severity: string; error?: { message: string } }];
        } catch {
          return [];
        }
      });
      expect(logged).toContainEqual(expect.objectContaining({ severity: 'ERROR', error: expect.objectContaining({ message: SECRET }) }));
    } finally {
      written.mockRestore();
      process.env.MLOPS_LOG_LEVEL = 'silent';
    }
  });

  it.skipIf(jsonRoutes.length === 0)('refuses a malformed JSON body with 400 REQUEST.INVALID on every JSON route', async () => {
    for (const path of jsonRoutes) {
      for (const malformed of ['{"version": 1', '[1, 2,]', '\u00ff\u00fe']) {
        expect({ path, ...(await answer(name, ['POST', path, malformed])) }).toEqual({
          path,
          status: 400,
          body: { code: 'REQUEST.INVALID', error: expect.stringMatching(/not valid JSON/) },
        });
      }
    }
  });

  it.skipIf(jsonRoutes.length === 0)('refuses a body over the limit with 413 REQUEST.TOO_LARGE, on its declared length alone', async () => {
    const limit = name === 'serve' ? SERVE_LIMIT : DEFAULT_MAX_JSON_BYTES;
    for (const path of jsonRoutes) {
      expect({ path, ...(await answer(name, ['POST', path, '{}'], { 'content-length': String(limit + 1) })) }).toEqual({
        path,
        status: 413,
        body: { code: 'REQUEST.TOO_LARGE', error: expect.stringContaining(`${limit}-byte limit`) },
      });
    }
  });
});

describe('bodies and queries refused the same way by every app', () => {
  it('refuses a body over the limit when it is sent whole, without a declared length', async () => {
    const padded = `{"name": "e"}${' '.repeat(DEFAULT_MAX_JSON_BYTES)}`;
    const stream = () => new Blob([padded]).stream();
    const tracking = await apps.get('tracking')!.request('/experiments', { method: 'POST', body: stream(), duplex: 'half' } as RequestInit);
    expect({ status: tracking.status, body: await tracking.json() }).toMatchObject({ status: 413, body: { code: 'REQUEST.TOO_LARGE' } });
    const serve = await answer('serve', ['POST', '/predict', GOOD_INSTANCES.padEnd(SERVE_LIMIT + 1, ' ')]);
    expect(serve).toMatchObject({ status: 413, body: { code: 'REQUEST.TOO_LARGE' } });
  });

  it('refuses missing or malformed query parameters with 400 REQUEST.INVALID before reaching a backend', async () => {
    const cases: [string, Call, RegExp][] = [
      ['data-api', ['POST', '/features?format=csv', 'entity_id\n'], /dataset is required/],
      ['data-api', ['POST', '/features?dataset=bad%20name&format=csv', 'entity_id\n'], /dataset is required/],
      ['data-api', ['POST', '/features?dataset=d&format=xlsx', 'entity_id\n'], /format must be csv or jsonl/],
      ['data-api', ['POST', '/features?dataset=d&format=csv&eventTimeColumn=a%2Cb', 'entity_id\n'], /eventTimeColumn must be a column name/],
      ['tracking', ['GET', '/runs/abc/metrics'], /Name the metric/],
      ['tracking', ['GET', '/runs/abc/artifacts/content'], /Name the artifact/],
      ['tracking', ['PUT', '/runs/abc/artifacts/content', 'bytes'], /Name the artifact/],
    ];
    for (const [app, call, message] of cases) {
      expect({ call, ...(await answer(app, call)) }).toEqual({ call, status: 400, body: { code: 'REQUEST.INVALID', error: expect.stringMatching(message) } });
    }
  });

  it('refuses a body that is JSON of the wrong shape with 400 REQUEST.INVALID listing the problems', async () => {
    expect(await answer('data-api', ['POST', '/ground-truth', '{"id": "p-1"}'])).toEqual({
      status: 400,
      body: { code: 'REQUEST.INVALID', error: expect.stringMatching(/must be a JSON array/) },
    });
    expect(await answer('tracking', ['POST', '/runs/abc/log-batch', '{"metrics": [{"key": "auc", "value": "high"}]}'])).toEqual({
      status: 400,
      body: { code: 'REQUEST.INVALID', error: expect.stringMatching(/^Invalid log-batch body: metrics\.0\.value: /), details: { issues: expect.any(Array) } },
    });
  });
});

describe('errorResponse: the one mapping from an error to an answer', () => {
  it.each([
    [new PlatformError('REQUEST.INVALID', 'bad', { details: { field: 'x' } }), 400, { error: 'bad', code: 'REQUEST.INVALID', details: { field: 'x' } }],
    [new PlatformError('REQUEST.TOO_LARGE', 'big'), 413, { error: 'big', code: 'REQUEST.TOO_LARGE' }],
    [new PlatformError('REQUEST.NOT_FOUND', 'where'), 404, { error: 'where', code: 'REQUEST.NOT_FOUND' }],
    [new PlatformError('TRACKING.INVALID_VALUE', 'nan'), 400, { error: 'nan', code: 'TRACKING.INVALID_VALUE' }],
    [new PlatformError('TRACKING.RUN_ENDED', 'ended'), 409, { error: 'ended', code: 'TRACKING.RUN_ENDED' }],
    [new PlatformError('FEATURES.INVALID_FILE', 'header'), 400, { error: 'header', code: 'FEATURES.INVALID_FILE' }],
    [new PlatformError('SERVING.NO_MODEL', 'idle'), 503, { error: 'idle', code: 'SERVING.NO_MODEL' }],
    // A server-side failure keeps its code and message, never its details.
    [new PlatformError('CONFIG.INVALID', 'no bucket', { details: { bucket: 'b' } }), 500, { error: 'no bucket', code: 'CONFIG.INVALID' }],
    // A malformed Pub/Sub payload has no business in an HTTP answer: if one gets there, it is our bug.
    [new PlatformError('EVENT.INVALID', 'schema'), 500, { error: 'schema', code: 'EVENT.INVALID' }],
    [new Error(SECRET), 500, { error: 'Internal error; see the function logs.', code: 'INTERNAL' }],
    ['a thrown string', 500, { error: 'Internal error; see the function logs.', code: 'INTERNAL' }],
  ])('maps %s to %i', (error, status, body) => {
    expect(errorResponse(error)).toEqual({ status, body });
  });
});

describe('the CLI reading platform answers', () => {
  let server: Server;
  let context: CliContext;
  const answers: Record<string, [status: number, type: string, body: string] | 'hang'> = {
    '/gateway': [502, 'text/html', '<html><body>Bad Gateway</body></html>'],
    '/front-end-limit': [413, 'text/html', '<html>Request Entity Too Large</html>'],
    '/not-json': [200, 'text/plain', 'ok'],
    '/no-code': [500, 'application/json', '{"error": "boom"}'],
    '/refused': [409, 'application/json', '{"error": "staging first", "code": "REGISTRY.PROMOTION_REFUSED"}'],
    '/per-record': [400, 'application/json', '{"accepted": 0, "rejected": [{"index": 0, "reason": "no id"}]}'],
    '/hang': 'hang',
  };

  beforeAll(async () => {
    server = createServer((request, response) => {
      const planned = answers[request.url ?? ''];
      if (!planned || planned === 'hang') return;
      response.writeHead(planned[0], { 'content-type': planned[1] }).end(planned[2]);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    context = { platform: undefined as never, functionUrl: () => url, actor: 'test' };
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it.each([
    [
      '/gateway',
      { code: 'CLI.UNEXPECTED_RESPONSE', message: expect.stringMatching(/answered 502 with "<html>.*instead of a JSON object/), details: { status: 502 } },
    ],
    ['/front-end-limit', { code: 'REQUEST.TOO_LARGE', message: expect.stringMatching(/answered 413/) }],
    ['/not-json', { code: 'CLI.UNEXPECTED_RESPONSE', message: expect.stringMatching(/answered 200 with "ok"/) }],
    ['/no-code', { code: 'CLI.UNEXPECTED_RESPONSE', message: expect.stringMatching(/answered 500 without an error code: boom/) }],
    ['/refused', { code: 'REGISTRY.PROMOTION_REFUSED', message: 'staging first' }],
  ])('turns the answer of %s into the error it stands for', async (path, expected) => {
    await expect(callFunction(context, 'registry-api', path)).rejects.toMatchObject(expected);
  });

  it('returns a per-record report even when its status refuses the batch', async () => {
    expect(await callFunction(context, 'data-api', '/per-record')).toEqual({ accepted: 0, rejected: [{ index: 0, reason: 'no id' }] });
  });

  it('gives up on a server that does not answer with CLI.TIMEOUT', async () => {
    await expect(callFunction(context, 'data-api', '/hang', { timeoutMs: 200 })).rejects.toMatchObject({
      code: 'CLI.TIMEOUT',
      message: expect.stringMatching(/No answer from .*\/hang within 0.2 s/),
    });
  });
});
