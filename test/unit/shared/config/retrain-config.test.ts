import { describe, expect, it } from 'vitest';
import { parseRetrainConfig } from '../../../../shared/config/retrain-config.js';
import { platformError } from '../../../support/errors.js';

describe('the retrain targets from the environment', () => {
  it('names no target when nothing is set, and the command timeout defaults to 600 s', () => {
    expect(parseRetrainConfig({})).toEqual({});
    expect(parseRetrainConfig({ MLOPS_RETRAIN_COMMAND: ' python train.py ' })).toEqual({ command: { command: 'python train.py', timeoutMs: 600_000 } });
  });

  it('reads every target together', () => {
    const env = {
      MLOPS_RETRAIN_WEBHOOK_URL: 'https://ci.example.com/hooks/retrain',
      MLOPS_RETRAIN_WEBHOOK_SECRET: 's3cret',
      MLOPS_RETRAIN_JOB: 'projects/acme-ml/locations/europe-west1/jobs/retrain-churn',
      MLOPS_RETRAIN_COMMAND: 'make retrain',
      MLOPS_RETRAIN_COMMAND_TIMEOUT_SECONDS: '90',
    };
    expect(parseRetrainConfig(env)).toEqual({
      webhook: { url: 'https://ci.example.com/hooks/retrain', secret: 's3cret' },
      job: 'projects/acme-ml/locations/europe-west1/jobs/retrain-churn',
      command: { command: 'make retrain', timeoutMs: 90_000 },
    });
  });

  it.each([
    [{ MLOPS_RETRAIN_WEBHOOK_URL: 'ci.example.com/hook' }, 'MLOPS_RETRAIN_WEBHOOK_URL="ci.example.com/hook" is invalid: expected an http(s) URL'],
    [{ MLOPS_RETRAIN_JOB: 'retrain-churn' }, 'expected a Cloud Run job name, projects/<project>/locations/<region>/jobs/<job>'],
    [{ MLOPS_RETRAIN_COMMAND: 'x', MLOPS_RETRAIN_COMMAND_TIMEOUT_SECONDS: '0' }, 'expected a whole number of seconds from 1 to 3600'],
    [{ MLOPS_RETRAIN_WEBHOOK_SECRET: 's3cret' }, 'MLOPS_RETRAIN_WEBHOOK_SECRET is set but MLOPS_RETRAIN_WEBHOOK_URL is not'],
  ])('refuses %j, naming the variable', (env, message) => {
    const error = platformError(() => parseRetrainConfig(env));
    expect(error.code).toBe('CONFIG.INVALID');
    expect(error.message).toContain(message);
  });
});
