import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../infra/stack.js';
import { type LocalPlatform, startLocalPlatform } from '../../scripts/lib/local-platform.js';
import type { ModelVersion } from '../../shared/domain/registry.js';
import { freePort } from '../../shared/processes/processes.js';
import { platform } from '../../shared/runtime/index.js';
import { mlops } from '../support/cli.js';
import { binaryClassifierOnnx } from '../support/models.js';

// `mlops upload --parent --then` on the local platform: register-model records the parent, then the
// CLI starts a canary or shadow of the new version through registry-api, or promotes it.
describe('mlops upload --parent <model>@<version> --then canary|shadow|promote:<alias>', () => {
  let local: LocalPlatform;
  let file: string;

  beforeAll(async () => {
    process.env.MLOPS_LOG_LEVEL = 'silent';
    const ports = { pubsub: await freePort(), firestore: await freePort(), functions: 0 };
    const functions = FUNCTIONS.filter((spec) => ['register-model', 'registry-api', 'promote-model'].includes(spec.name));
    local = await startLocalPlatform({ dataDir: mkdtempSync(join(tmpdir(), 'lineage-data-')), ports, fresh: true, scheduler: false, functions });
    file = join(mkdtempSync(join(tmpdir(), 'lineage-')), 'model.onnx');
    writeFileSync(file, binaryClassifierOnnx());
    expect((await mlops('upload', file, '--name', 'churn')).stderr).toBe('');
    expect((await mlops('promote', 'churn', '1', '--to', 'production')).stderr).toBe('');
  }, 120_000);

  afterAll(async () => {
    await local?.stop();
  });

  const uploaded = (stdout: string) => JSON.parse(stdout) as { version: ModelVersion; followUp?: Record<string, unknown> };

  it('records the parent in the lineage and starts a canary of the new version with the rollout defaults', async () => {
    const result = await mlops('upload', file, '--name', 'churn', '--run-id', 'run-42', '--parent', 'churn@1', '--then', 'canary', '--json');
    expect(result.stderr).toBe('');
    const { version, followUp } = uploaded(result.stdout);
    expect(version.lineage).toMatchObject({ runId: 'run-42', parent: { model: 'churn', version: 1 } });
    expect(followUp).toMatchObject({ rollout: { created: true, rollout: { model: 'churn', candidate: version.version, mode: 'canary', state: 'running' } } });
    const stored = await (await platform().registry()).getVersion('churn', version.version);
    expect(stored?.lineage.parent).toEqual({ model: 'churn', version: 1 });
    const shown = await mlops('models', 'show', 'churn');
    expect(shown.stdout).toContain(`v${version.version} retrained from churn@1`);
  }, 60_000);

  it('starts a shadow of every request for an hour with shadow', async () => {
    expect((await mlops('upload', file, '--name', 'fraud')).stderr).toBe('');
    expect((await mlops('promote', 'fraud', '1', '--to', 'production')).stderr).toBe('');
    const result = await mlops('upload', file, '--name', 'fraud', '--parent', 'fraud@1', '--then', 'shadow');
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/fraud: rollout \S+ started/);
    const rollout = await (await platform().registry()).getRollout('fraud');
    expect(rollout).toMatchObject({ candidate: 2, mode: 'shadow', steps: [100], durationMs: 3_600_000 });
  }, 60_000);

  it('promotes the new version to an alias with promote:<alias>, saying so', async () => {
    const result = await mlops('upload', file, '--name', 'churn', '--parent', 'churn@1', '--then', 'promote:staging');
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/churn: staging now points at version \d+ \(no previous holder\)/);
    const model = await (await platform().registry()).getModel('churn');
    expect(model?.aliases.staging).toBe(model?.latestVersion);
  }, 60_000);

  it('refuses a malformed or unknown parent and a --then it cannot do, before uploading anything', async () => {
    const before = (await (await platform().registry()).getModel('churn'))?.latestVersion;
    const malformed = await mlops('upload', file, '--name', 'churn', '--parent', 'churn');
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('--parent "churn" names no version: write <model>@<version>, such as churn@3.');
    const unknown = await mlops('upload', file, '--name', 'churn', '--parent', 'churn@99');
    expect(unknown.stderr).toContain('--parent churn@99: churn has no version 99. See its versions with: mlops models show churn');
    const then = await mlops('upload', file, '--name', 'churn', '--then', 'deploy');
    expect(then.stderr).toContain('--then expects canary, shadow or promote:<alias>');
    const noWait = await mlops('upload', file, '--name', 'churn', '--then', 'canary', '--no-wait');
    expect(noWait.stderr).toContain('--then acts on the registered version: leave out --no-wait.');
    expect((await (await platform().registry()).getModel('churn'))?.latestVersion).toBe(before);
  }, 60_000);

  it('shows retrain requests, deliveries and failures in the model history', async () => {
    const registry = await platform().registry();
    const at = new Date().toISOString();
    const entry = { fromVersion: 1, toVersion: null, actor: 'retrain', at };
    await registry.recordAudit('churn', {
      ...entry,
      id: 'retrain-requested-r1',
      action: 'retrain_requested',
      reason: 'drift: feature tenure drifted (psi 0.42)',
    });
    await registry.recordAudit('churn', {
      ...entry,
      id: 'retrain-failed-r1',
      action: 'retrain_failed',
      reason: 'webhook:http://127.0.0.1/hook (attempt 1): the webhook answered 500',
    });
    await registry.recordAudit('churn', {
      ...entry,
      id: 'retrain-delivered-r1',
      action: 'retrain_delivered',
      reason: 'webhook:http://127.0.0.1/hook: answered 200',
    });
    const history = await mlops('models', 'history', 'churn');
    expect(history.stdout).toMatch(/retrain_requested .*retrain .*drift: feature tenure drifted \(psi 0\.42\)/);
    expect(history.stdout).toMatch(/retrain_failed .*attempt 1\): the webhook answered 500/);
    expect(history.stdout).toMatch(/retrain_delivered .*answered 200/);
  });
});
