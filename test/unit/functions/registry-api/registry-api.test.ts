import { describe, expect, it } from 'vitest';
import { createRegistryApi } from '../../../../functions/registry-api/app.js';
import { hashApiKey } from '../../../../shared/http/auth.js';
import type { EventBus } from '../../../../shared/ports/event-bus.port.js';
import type { ModelRegistry } from '../../../../shared/ports/model-registry.port.js';

// Requests refused before they reach the registry: the registry is never built.
const unreachable = async (): Promise<ModelRegistry> => {
  throw new Error('the registry must not be reached');
};
const noBus = (): EventBus => {
  throw new Error('the bus must not be reached');
};

describe('registry API: access and input checks', () => {
  const app = createRegistryApi({ registry: unreachable, bus: noBus, policy: { requireStaging: false }, apiKeyHashes: [hashApiKey('s3cret')] });

  it('refuses a promotion without a key, or with a wrong one, and keeps health open', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { 'x-api-key': 'wrong' }] as Record<string, string>[]) {
      const response = await app.request('/models/churn/aliases/production', { method: 'POST', headers, body: JSON.stringify({ version: 1 }) });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ code: 'AUTH.REQUIRED', error: expect.stringMatching(/Authorization: Bearer/) });
    }
    expect((await app.request('/models')).status).toBe(401);
    expect((await app.request('/health')).status).toBe(200);
  });

  it('names the problem in bad input once the key is right', async () => {
    const headers = { authorization: 'Bearer s3cret' };
    const cases: [string, string, RegExp, string][] = [
      ['/models/Bad_Name/aliases/production', JSON.stringify({ version: 1 }), /Model name "Bad_Name" is invalid/, 'NAME.INVALID'],
      ['/models/churn/aliases/Prod!', JSON.stringify({ version: 1 }), /Alias "Prod!" is invalid/, 'NAME.INVALID'],
      ['/models/churn/aliases/production', '{not json', /not valid JSON/, 'REQUEST.INVALID'],
      ['/models/churn/aliases/production', JSON.stringify({ version: 0 }), /Version 0 is invalid/, 'NAME.INVALID'],
      ['/models/churn/aliases/production', JSON.stringify({ reason: 'no version' }), /version/, 'REQUEST.INVALID'],
    ];
    for (const [path, body, message, code] of cases) {
      const response = await app.request(path, { method: 'POST', headers, body });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ code, error: expect.stringMatching(message) });
    }
  });

  it('refuses rollout calls without a key, and names bad rollout input once the key is right', async () => {
    const post = (path: string, body: string, headers: Record<string, string> = { authorization: 'Bearer s3cret' }) =>
      app.request(path, { method: 'POST', headers, body });
    expect((await post('/models/churn/rollouts', JSON.stringify({ candidate: 2 }), {})).status).toBe(401);
    expect((await post('/models/churn/rollouts/current/abort', '{}', {})).status).toBe(401);
    expect((await app.request('/models/churn/rollouts')).status).toBe(401);
    const cases: [string, string, RegExp, string][] = [
      ['/models/Bad_Name/rollouts', JSON.stringify({ candidate: 2 }), /Model name "Bad_Name" is invalid/, 'NAME.INVALID'],
      ['/models/churn/rollouts', JSON.stringify({}), /candidate/, 'REQUEST.INVALID'],
      ['/models/churn/rollouts', JSON.stringify({ candidate: 'two' }), /Version "two" is invalid/, 'NAME.INVALID'],
      ['/models/churn/rollouts', JSON.stringify({ candidate: 2, mode: 'bandit' }), /mode/, 'REQUEST.INVALID'],
      ['/models/churn/rollouts', JSON.stringify({ candidate: 2, steps: '10,50' }), /steps/, 'REQUEST.INVALID'],
      [
        '/models/churn/rollouts',
        JSON.stringify({ candidate: 2, interval: '10 minutes' }),
        /interval "10 minutes" is not a duration: write it as 30s, 10m, 1h or 2d/,
        'REQUEST.INVALID',
      ],
      ['/models/churn/rollouts', JSON.stringify({ candidate: 2, duration: 0 }), /duration 0 is not a duration/, 'REQUEST.INVALID'],
      ['/models/churn/rollouts', JSON.stringify({ candidate: 2, minRequest: 10 }), /Unrecognized key.*minRequest/, 'REQUEST.INVALID'],
      ['/models/churn/rollouts/current/pause', JSON.stringify({ reason: 7 }), /reason/, 'REQUEST.INVALID'],
      ['/models/Bad_Name/rollouts/current/abort', '{}', /Model name "Bad_Name" is invalid/, 'NAME.INVALID'],
    ];
    for (const [path, body, message, code] of cases) {
      const response = await post(path, body);
      expect({ path, body, status: response.status }).toEqual({ path, body, status: 400 });
      expect(await response.json()).toMatchObject({ code, error: expect.stringMatching(message) });
    }
  });
});
