import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../../../../shared/domain/registry.js';
import type { StoredObject } from '../../../../../shared/ports/artifact-store.port.js';
import type { Platform } from '../../../../../shared/runtime/platform.js';
import { SMOKE_STEPS, formatVerdict, runSmoke } from '../../../../../scripts/lib/smoke/run-smoke.js';
import { ROOT } from '../../../../support/paths.js';

const work = mkdtempSync(join(tmpdir(), 'smoke-unit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `npm run smoke` with no credentials (an empty gcloud config and home) and no network, against a config file in `work`. */
function smokeOffline(deployConfig: Record<string, unknown>) {
  const config = join(work, `${Object.keys(deployConfig).join('-')}.json`);
  writeFileSync(config, JSON.stringify(deployConfig));
  mkdirSync(join(work, 'gcloud'), { recursive: true });
  const env = { PATH: process.env.PATH, HOME: work, CLOUDSDK_CONFIG: join(work, 'gcloud'), METADATA_SERVER_DETECTION: 'none' };
  const started = performance.now();
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/smoke.ts', '--config', config], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
  return { ...run, seconds: (performance.now() - started) / 1000 };
}

describe('npm run smoke against Google Cloud, offline', () => {
  it('fails at its first step, the upload to the bucket, with the reason on one line', () => {
    const run = smokeOffline({ project: 'smoke-offline-1', bucket: 'smoke-offline-1-mlops-abc123' });
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('Smoke test of project smoke-offline-1 (us-central1), bucket smoke-offline-1-mlops-abc123, BigQuery dataset mlops');
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2); // the failed step, then the verdict
    expect(lines[0]).toMatch(/^ {2}1\/6 upload +[\d.]+ s {2}FAILED: /);
    expect(lines[1]).toMatch(/^Smoke test failed at step 1\/6 "upload" after [\d.]+ s: .*(storage\.googleapis\.com|credentials)/);
    expect(run.seconds).toBeLessThan(30);
  });

  it('does not start without the bucket a deploy records', () => {
    const run = smokeOffline({ project: 'smoke-offline-1' });
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe('Smoke test could not start: The deployment config has no bucket: set "bucket" or let `npm run deploy` generate one.');
  });
});

/** A platform whose bucket accepts anything and whose registry answers with `history` and no versions. */
function fakePlatform(history: AuditEntry[]): Platform {
  const object: StoredObject = {
    bucket: 'b',
    name: 'models/smoke/x/model.onnx',
    generation: '7',
    size: 10,
    md5Hash: '',
    contentType: 'application/octet-stream',
    metadata: {},
    timeCreated: new Date().toISOString(),
    uri: 'gs://b/models/smoke/x/model.onnx',
  };
  const registry = { listVersions: async () => [], history: async () => history.map((entry) => ({ ...entry, reason: `${object.uri}: ${entry.reason}` })) };
  return { artifacts: async () => ({ put: async () => object }), registry: async () => registry } as unknown as Platform;
}

describe('the smoke plan', () => {
  it('stops at the step that failed, with the platform’s reason, and runs nothing after it', async () => {
    const rejected = { action: 'rejected', reason: 'not an ONNX model', model: 'smoke', at: '', actor: 'register-model' } as AuditEntry;
    const report = await runSmoke({ platform: fakePlatform([rejected]) });
    expect(report.steps.map((step) => step.name)).toEqual(['upload', 'registration']);
    expect(formatVerdict(report)).toMatch(/^Smoke test failed at step 2\/6 "registration" after [\d.]+ s: register-model rejected it: not an ONNX model$/);
  });

  it('fails a step that outlives its timeout, naming what it waited for', async () => {
    const report = await runSmoke({ platform: fakePlatform([]), timeouts: { registration: 0.5 } });
    expect(report.passed).toBe(false);
    expect(report.steps[1]).toMatchObject({
      name: 'registration',
      error: expect.stringMatching(/^timed out waiting for register-model to register gs:\/\/b\//),
    });
    expect(report.steps[1]!.seconds).toBeLessThan(1.4);
    expect(report.total).toBe(SMOKE_STEPS.length);
  });

  it('gives up on a call that never answers (a client library retrying) when the step’s time is up', async () => {
    const hanging = { artifacts: async () => ({ put: () => new Promise(() => undefined) }) } as unknown as Platform;
    const report = await runSmoke({ platform: hanging, timeouts: { upload: 0.2 } });
    expect(report.steps).toEqual([{ name: 'upload', seconds: expect.any(Number), error: 'no result within 0.2 s' }]);
    expect(report.steps[0]!.seconds).toBeLessThan(2);
  });
});
