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
});
