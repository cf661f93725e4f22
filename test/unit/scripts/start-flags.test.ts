import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../support/paths.js';

describe('npm start flags', () => {
  it('refuses an unknown flag with a usage error, not a stack trace', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/start.ts', '--frsh'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/Unknown option '--frsh'[\s\S]*See npm start -- --help\./);
    expect(result.stderr).not.toMatch(/ at .*\.(js|ts):\d+/);
  });

  it.each(['abc', '0', '-5'])('refuses --registry-export-every %s with a usage error before starting anything', (value) => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/start.ts', `--registry-export-every=${value}`], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`--registry-export-every expects a number of seconds, 1 or more (got "${value}")`);
    expect(result.stdout).not.toContain('Ready');
  });
});
