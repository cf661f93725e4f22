import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServingApp, createServingApp } from '../../../../functions/serve/app.js';
import { hashApiKey } from '../../../../shared/http/auth.js';
import { BINARY_CLASSIFIER, binaryClassifierOnnx } from '../../../support/models.js';
import { listen, versionOf } from '../../../support/serving.js';

// On a node:http server POST /predict is answered by predict-listener.ts without Hono; the Hono
// route stays for the Functions Framework entry. Both must answer every request alike.
const LIMIT = 4096;
const logLevel = process.env.MLOPS_LOG_LEVEL;

interface Answer {
  status: number;
  type: string | null;
  body: unknown;
}

interface Call {
  what: string;
  method?: string;
  path?: string;
  body?: string | (() => ReadableStream<Uint8Array>);
  headers?: Record<string, string>;
  app?: 'open' | 'secured' | 'failing';
}

const row = [1, 2, 3, 4];
const named = Object.fromEntries(BINARY_CLASSIFIER.featureNames.map((name, index) => [name, row[index]]));
const json = (value: unknown) => JSON.stringify(value);
const chunked = (bytes: number) => () =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      for (let sent = 0; sent < bytes; sent += 1024) controller.enqueue(new TextEncoder().encode(' '.repeat(1024)));
      controller.close();
    },
  });

const CALLS: Call[] = [
  { what: 'arrays', body: json({ instances: [row, row] }) },
  { what: 'named objects', body: json({ instances: [named] }) },
  { what: 'a query string', path: '/predict?trace=1', body: json({ instances: [row] }) },
  { what: 'JSON with a charset', body: json({ instances: [row] }), headers: { 'content-type': 'application/json; charset=utf-8' } },
  { what: 'broken JSON', body: '{"instances": [' },
  { what: 'an empty body', body: '' },
  { what: 'a byte order mark', body: `\uFEFF${json({ instances: [row] })}` },
  { what: 'another media type', body: json({ instances: [row] }), headers: { 'content-type': 'text/plain' } },
  { what: 'no media type', body: json({ instances: [row] }), headers: { 'content-type': '' } },
  { what: 'a declared length over the limit', body: json({ instances: Array.from({ length: 500 }, () => row) }) },
  { what: 'a chunked body over the limit', body: chunked(LIMIT * 2) },
  { what: 'no instances', body: json({ inputs: [] }) },
  { what: 'empty instances', body: json({ instances: [] }) },
  { what: 'a row too short', body: json({ instances: [[1, 2]] }) },
  { what: 'a text value', body: json({ instances: [[1, 'two', 3, 4]] }) },
  { what: 'no API key', body: json({ instances: [row] }), app: 'secured' },
  { what: 'a wrong API key', body: json({ instances: [row] }), headers: { authorization: 'Bearer wrong' }, app: 'secured' },
  { what: 'the right API key', body: json({ instances: [row] }), headers: { 'x-api-key': 'key-1' }, app: 'secured' },
  { what: 'a model that fails', body: json({ instances: [row] }), app: 'failing' },
  { what: 'GET', method: 'GET' },
  { what: 'a trailing slash', path: '/predict/', body: json({ instances: [row] }) },
];

describe('POST /predict on the node:http listener answers exactly as the Hono route', () => {
  const apps = new Map<string, ServingApp>();
  const servers = new Map<string, { url: string; close(): Promise<void> }>();

  beforeAll(async () => {
    process.env.MLOPS_LOG_LEVEL = 'silent';
    const served = await versionOf('churn', 2, binaryClassifierOnnx());
    const failing = { ...served.loaded, run: async () => Promise.reject(new Error('session lost')) };
    apps.set('open', createServingApp({ ...served, maxBodyBytes: LIMIT }));
    apps.set('secured', createServingApp({ ...served, maxBodyBytes: LIMIT, apiKeyHashes: [hashApiKey('key-1')] }));
    apps.set('failing', createServingApp({ ...served, loaded: failing, maxBodyBytes: LIMIT }));
    for (const [name, app] of apps) servers.set(name, await listen(app));
  });

  afterAll(async () => {
    await Promise.all([...servers.values()].map((server) => server.close()));
    if (logLevel === undefined) delete process.env.MLOPS_LOG_LEVEL;
    else process.env.MLOPS_LOG_LEVEL = logLevel;
  });

  const init = ({ method = 'POST', body, headers = {} }: Call): RequestInit => {
    const content = typeof body === 'function' ? body() : body;
    return {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: method === 'GET' ? undefined : content,
      ...(typeof body === 'function' ? { duplex: 'half' } : {}),
    } as RequestInit;
  };
  const read = async (response: Response): Promise<Answer> => {
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {}
    // Ids are fresh per request; their number is what must agree.
    if (body && typeof body === 'object' && 'ids' in body) body = { ...body, ids: (body as { ids: string[] }).ids.length };
    return { status: response.status, type: response.headers.get('content-type'), body };
  };

  it.each(CALLS)('$what', async (call) => {
    const app = call.app ?? 'open';
    const path = call.path ?? '/predict';
    const viaHono = await read(await apps.get(app)!.app.request(path, init(call)));
    const viaListener = await read(await fetch(`${servers.get(app)!.url}${path}`, init(call)));
    expect(viaListener).toEqual(viaHono);
    expect(viaListener.status).toBeGreaterThanOrEqual(200);
  });

  it('answers good requests with predictions and refuses each bad one with its own code', async () => {
    const codes: Record<string, unknown> = {};
    for (const call of CALLS) {
      const answer = await read(await fetch(`${servers.get(call.app ?? 'open')!.url}${call.path ?? '/predict'}`, init(call)));
      codes[call.what] = answer.status === 200 ? 200 : (answer.body as { code?: string }).code;
    }
    expect(codes).toEqual({
      arrays: 200,
      'named objects': 200,
      'a query string': 200,
      'JSON with a charset': 200,
      'broken JSON': 'REQUEST.INVALID',
      'an empty body': 'REQUEST.INVALID',
      'a byte order mark': 'REQUEST.INVALID',
      'another media type': 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
      'no media type': 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
      'a declared length over the limit': 'REQUEST.TOO_LARGE',
      'a chunked body over the limit': 'REQUEST.TOO_LARGE',
      'no instances': 'MODEL.INVALID_INPUT',
      'empty instances': 'MODEL.INVALID_INPUT',
      'a row too short': 'MODEL.INVALID_INPUT',
      'a text value': 'MODEL.INVALID_INPUT',
      'no API key': 'AUTH.REQUIRED',
      'a wrong API key': 'AUTH.REQUIRED',
      'the right API key': 200,
      'a model that fails': 'INTERNAL',
      GET: 'REQUEST.METHOD_NOT_ALLOWED',
      'a trailing slash': 'REQUEST.NOT_FOUND',
    });
  });

  it('counts the requests it answers in /metrics under the /predict route, as the Hono route does', async () => {
    const { url } = servers.get('open')!;
    await fetch(`${url}/predict`, init({ what: 'good', body: json({ instances: [row] }) }));
    await fetch(`${url}/predict`, init({ what: 'bad', body: '{' }));
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/mlops_requests_total\{route="\/predict",status="200"\} [1-9]/);
    expect(metrics).toMatch(/mlops_requests_total\{route="\/predict",status="400"\} [1-9]/);
  });
});
