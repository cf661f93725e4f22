import { describe, expect, it } from 'vitest';
import { parseRolloutSettings } from '../../../../functions/serve/rollout-settings.js';
import type { PlatformError } from '../../../../shared/domain/errors.js';

const refusal = (env: Record<string, string>): PlatformError => {
  try {
    parseRolloutSettings(env);
  } catch (error) {
    return error as PlatformError;
  }
  throw new Error('expected a refusal');
};

describe('parseRolloutSettings', () => {
  it('is a plain primary without any rollout variable', () => {
    expect(parseRolloutSettings({})).toEqual({ role: 'primary' });
  });

  it('reads a shadow, a mirror and a sticky split', () => {
    expect(parseRolloutSettings({ MLOPS_SERVE_ROLE: 'shadow' })).toEqual({ role: 'shadow' });
    expect(parseRolloutSettings({ MLOPS_SHADOW_URL: 'http://127.0.0.1:9001/', MLOPS_SHADOW_PERCENT: '12.5' })).toEqual({
      role: 'primary',
      shadow: { url: 'http://127.0.0.1:9001', percent: 12.5 },
    });
    expect(parseRolloutSettings({ MLOPS_SPLIT_URL: 'https://churn-v4.a.run.app', MLOPS_SPLIT_PERCENT: '100', MLOPS_STICKY_KEY: 'header:X-User' })).toEqual({
      role: 'primary',
      split: { url: 'https://churn-v4.a.run.app', percent: 100, stickyKey: { from: 'header', name: 'x-user' } },
    });
    expect(parseRolloutSettings({ MLOPS_SPLIT_URL: 'http://c', MLOPS_SPLIT_PERCENT: '5', MLOPS_STICKY_KEY: 'feature:customer_id' }).split?.stickyKey).toEqual({
      from: 'feature',
      name: 'customer_id',
    });
  });

  it.each([
    [{ MLOPS_SERVE_ROLE: 'canary' }, 'MLOPS_SERVE_ROLE="canary" is invalid: expected "primary" or "shadow"'],
    [{ MLOPS_SHADOW_URL: 'http://s', MLOPS_SHADOW_PERCENT: '0' }, 'MLOPS_SHADOW_PERCENT="0" is invalid: expected a percentage greater than 0'],
    [{ MLOPS_SHADOW_URL: 'http://s', MLOPS_SHADOW_PERCENT: '101' }, 'MLOPS_SHADOW_PERCENT="101"'],
    [{ MLOPS_SPLIT_URL: 'http://s', MLOPS_SPLIT_PERCENT: 'ten' }, 'MLOPS_SPLIT_PERCENT="ten"'],
    [{ MLOPS_SPLIT_URL: 'churn-v4:8080', MLOPS_SPLIT_PERCENT: '10' }, 'MLOPS_SPLIT_URL="churn-v4:8080" is invalid: expected an http(s) URL'],
    [{ MLOPS_SHADOW_URL: 'http://s' }, 'MLOPS_SHADOW_URL is set but MLOPS_SHADOW_PERCENT is not: set both, or neither'],
    [
      { MLOPS_SPLIT_URL: 'http://s', MLOPS_SPLIT_PERCENT: '10', MLOPS_STICKY_KEY: 'cookie:id' },
      'MLOPS_STICKY_KEY="cookie:id" is invalid: expected "header:<name>" or "feature:<name>"',
    ],
    [
      { MLOPS_SERVE_ROLE: 'shadow', MLOPS_SHADOW_URL: 'http://s', MLOPS_SHADOW_PERCENT: '10' },
      'A shadow revision (MLOPS_SERVE_ROLE=shadow) neither mirrors nor splits',
    ],
  ])('refuses %j with CONFIG.INVALID naming the variable', (env, message) => {
    const error = refusal(env);
    expect(error.code).toBe('CONFIG.INVALID');
    expect(error.message).toContain(message);
  });
});
