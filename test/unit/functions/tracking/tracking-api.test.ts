import { describe, expect, it } from 'vitest';
import { createTrackingApi } from '../../../../functions/tracking/app.js';
import { hashApiKey } from '../../../../shared/http/auth.js';

// Requests refused before they reach a store: no store is ever built.
const unreachable = async (): Promise<never> => {
  throw new Error('the store must not be reached');
};

describe('tracking API: access and input checks', () => {
  const app = createTrackingApi({
    tracking: unreachable,
    artifacts: unreachable,
    registry: unreachable,
    loggedModels: unreachable,
    bus: () => {
      throw new Error('the event bus must not be reached');
    },
    policy: { requireStaging: false },
    apiKeyHashes: [hashApiKey('s3cret')],
  });

  it('refuses every experiment and run route without the key, and keeps health and the API document open', async () => {
    const routes: [string, string][] = [
      ['POST', '/experiments'],
      ['GET', '/experiments'],
      ['POST', '/runs'],
      ['POST', '/runs/search'],
      ['GET', '/runs/abc'],
      ['POST', '/runs/abc/log-batch'],
      ['PUT', '/runs/abc/artifacts/content?path=a.txt'],
    ];
    for (const [method, path] of routes) {
      const response = await app.request(path, { method, headers: { authorization: 'Bearer wrong' }, body: method === 'GET' ? undefined : '{}' });
      expect({ path, status: response.status }).toEqual({ path, status: 401 });
    }
    expect((await app.request('/health')).status).toBe(200);
    const document = (await (await app.request('/openapi.json')).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/runs/{id}/log-batch', '/runs/search', '/runs/{id}/artifacts/content']));
  });

  it('names the problem in bad input once the key is right', async () => {
    const headers = { authorization: 'Bearer s3cret' };
    const cases: [string, string, string, RegExp, string][] = [
      ['POST', '/experiments', '{not json', /not valid JSON/, 'REQUEST.INVALID'],
      ['POST', '/experiments', JSON.stringify({ tags: {} }), /name/, 'REQUEST.INVALID'],
      ['POST', '/runs', JSON.stringify({ name: 'no experiment' }), /either experimentId or experiment/, 'REQUEST.INVALID'],
      ['POST', '/runs/abc/log-batch', JSON.stringify({ metrics: [{ key: 'auc', value: 'high' }] }), /metrics\.0\.value/, 'REQUEST.INVALID'],
      ['POST', '/runs/abc/log-batch', JSON.stringify({ metrics: Array.from({ length: 1001 }, () => ({ key: 'a', value: 1 })) }), /metrics/, 'REQUEST.INVALID'],
      ['POST', '/runs/abc/end', JSON.stringify({ status: 'DONE' }), /Run status "DONE" is invalid/, 'TRACKING.INVALID_VALUE'],
      ['GET', '/runs/abc/metrics', '', /Name the metric/, 'REQUEST.INVALID'],
    ];
    for (const [method, path, body, message, code] of cases) {
      const response = await app.request(path, { method, headers, body: method === 'GET' ? undefined : body });
      expect({ path, status: response.status }).toEqual({ path, status: 400 });
      expect(await response.json()).toMatchObject({ code, error: expect.stringMatching(message) });
    }
  });
});
