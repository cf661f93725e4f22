import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mlops } from '../../../support/cli.js';

// Usage mistakes are caught before any call: the registry API's URL points at a closed port, so a
// command that did call it would fail with exit code 1 (cannot reach), not 2.
describe('mlops rollout: usage errors before any call', () => {
  const saved = process.env.MLOPS_REGISTRY_API_URL;
  beforeAll(() => {
    process.env.MLOPS_REGISTRY_API_URL = 'http://127.0.0.1:9';
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.MLOPS_REGISTRY_API_URL;
    else process.env.MLOPS_REGISTRY_API_URL = saved;
  });

  it('names a bad flag and what it expects, with exit code 2', async () => {
    const cases: [string[], string][] = [
      [['start', 'churn', '2', '--steps', '10,abc'], '--steps expects percentages in (0, 100] separated by commas, such as 10,50,100; got "10,abc".'],
      [['start', 'churn', '2', '--steps', '10,150'], '--steps expects percentages in (0, 100]'],
      [['start', 'churn', '2', '--interval', 'soon'], '--interval "soon" is not a duration: write it as 30s, 10m, 1h or 2d.'],
      [['start', 'churn', '2', '--interval', '0s'], '--interval "0s" is not a duration'],
      [['start', 'churn', '2', '--canary', '0'], '--canary expects a percentage in (0, 100]; got "0".'],
      [['start', 'churn', '2', '--canary', '10', '--steps', '20,100'], '--canary 10 and --steps 20,100 disagree'],
      [['start', 'churn', '2', '--split', '50', '--canary', '10'], '--split makes an A/B test: leave out --canary and --steps.'],
      [['start', 'churn', '2', '--split', '50', '--duration', 'forever'], '--duration "forever" is not a duration'],
      [['start', 'churn', '2', '--max-error-rate', 'low'], '--max-error-rate expects a number; got "low".'],
      [['shadow', 'churn', '2', '--percent', '120'], '--percent expects a percentage in (0, 100]; got "120".'],
      [['frobnicate', 'churn'], 'Unknown "rollout frobnicate": use start, shadow, status, compare, pause, resume or abort.'],
    ];
    for (const [args, message] of cases) {
      const result = await mlops('rollout', ...args);
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(result.stderr).toContain(message);
    }
  });

  it('reaches the registry API once the flags are right (here: nothing listens)', async () => {
    const result = await mlops('rollout', 'start', 'churn', '2', '--canary', '10', '--interval', '30s');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Cannot reach http://127.0.0.1:9/models/churn/rollouts');
  });

  it('answers --help for the group and each subcommand', async () => {
    for (const sub of ['start', 'shadow', 'status', 'pause', 'resume', 'abort']) {
      const result = await mlops('rollout', sub, '--help');
      expect({ sub, code: result.code }).toEqual({ sub, code: 0 });
      expect(result.stdout).toContain(`Usage: mlops rollout ${sub}`);
    }
    const start = (await mlops('rollout', 'start', '--help')).stdout;
    for (const flag of [
      '--canary',
      '--steps',
      '--interval',
      '--split',
      '--sticky-key',
      '--duration',
      '--max-error-rate',
      '--max-p99-ms',
      '--max-output-drift',
      '--min-requests',
      '--reason',
      '--json',
    ]) {
      expect(start).toContain(flag);
    }
  });
});
