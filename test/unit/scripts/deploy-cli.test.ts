import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../support/paths.js';

const work = mkdtempSync(join(tmpdir(), 'mlops-deploy-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * Runs an npm script's entry the way `npm run` does, with no gcloud on the PATH and no Google
 * credentials, so anything that tried to reach Google Cloud would fail.
 */
function run(script: string, args: string[], config: Record<string, unknown>) {
  const path = join(work, `${script}-${Math.random().toString(36).slice(2)}.json`);
  const text = `${JSON.stringify(config, null, 2)}\n`;
  writeFileSync(path, text);
  const result = spawnSync(join(ROOT, 'node_modules/.bin/tsx'), [`scripts/${script}.ts`, '--config', path, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 90_000,
    env: { PATH: dirname(process.execPath), HOME: work, CLOUDSDK_CONFIG: join(work, 'no-gcloud'), METADATA_SERVER_DETECTION: 'none' },
  });
  return { ...result, unchanged: readFileSync(path, 'utf8') === text };
}

describe('npm run deploy -- --dry-run', () => {
  it('prints bundle sizes, the whole plan and the cost without gcloud or credentials, and writes no config', () => {
    const result = run('deploy', ['--dry-run'], { project: 'acme-mlops', serving: { auth: 'iam' } });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/Generated the bucket name acme-mlops-mlops-[a-z0-9]{6} for this dry run/);
    expect(result.stdout).toContain('installed by Cloud Build');
    expect(result.stdout).toMatch(/Deployment plan \(\d+ steps/);
    expect(result.stdout).toContain('gcloud functions deploy');
    expect(result.stdout).toContain('api cloudscheduler projects.locations.jobs.create');
    expect(result.stdout).toContain('Estimated monthly cost');
    expect(result.unchanged).toBe(true);
  }, 90_000);

  it('refuses a real deploy whose HTTPS functions would answer anyone, before touching the project', () => {
    const result = run('deploy', [], { project: 'acme-mlops', bucket: 'acme-mlops-artifacts' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Deploy failed: .*would answer anyone.*--allow-public/s);
    // No gcloud on the PATH: any step that had run would have failed with ENOENT instead.
    expect(result.stdout).not.toMatch(/^(created|unchanged|updated) /m);
    expect(result.stderr).not.toContain('ENOENT');
  }, 90_000);

  it('rejects an invalid config with a message naming the field', () => {
    const result = run('deploy', ['--dry-run'], { project: 'acme-mlops', serving: { maxInstances: 0 } });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('serving.maxInstances');
  }, 90_000);
});

describe('npm run destroy -- --dry-run', () => {
  const config = { project: 'acme-mlops', bucket: 'acme-mlops-artifacts' };

  it('removes functions and keeps the data unless --delete-data', () => {
    const kept = run('destroy', ['--dry-run'], config);
    expect(kept.status).toBe(0);
    expect(kept.stdout).toContain('gcloud functions delete');
    expect(kept.stdout).not.toContain('gcloud storage rm');
    const deleted = run('destroy', ['--dry-run', '--delete-data'], config);
    expect(deleted.stdout).toContain('gcloud storage rm --recursive gs://acme-mlops-artifacts');
    expect(deleted.stdout).toContain('api bigquery datasets.delete');
  }, 90_000);
});

describe('npm run cost', () => {
  it('prints the estimate with its unit prices and assumptions', () => {
    const result = run('cost', [], { project: 'acme-mlops', cost: { assumptions: { predictionsPerDay: 5000 } } });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/0\.000024 per vCPU-second/);
    expect(result.stdout).toContain('predictionsPerDay: 5000');
    expect(result.stdout).toMatch(/list prices in USD .* as of \d{4}-\d{2}-\d{2}/);
  }, 90_000);
});
