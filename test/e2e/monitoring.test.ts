import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK } from '../../infra/stack.js';
import { type LocalPlatform, startLocalPlatform } from '../../scripts/lib/local-platform.js';
import { freePort } from '../../shared/processes/processes.js';
import type { DriftComputed } from '../../shared/domain/monitoring-events.js';
import type { Warehouse } from '../../shared/ports/warehouse.port.js';
import { platform } from '../../shared/runtime/index.js';
import { mlops } from '../support/cli.js';
import { datasetRows, predictionRows, seeded } from '../support/drift-scenario.js';
import { eventually } from '../support/environment.js';
import { webhookServer } from '../support/webhook.js';
import { binaryClassifierOnnx } from '../support/models.js';

const HOUR = 3_600_000;
const T0 = new Date('2026-02-01T00:00:00Z');
const hourEnd = (hour: number) => new Date(T0.getTime() + (hour + 1) * HOUR).toISOString();

// compute-drift, notify-alerts and monitoring-api run in this process next to the registry functions;
// the test writes predictions straight into the same DuckDB file the functions read.
describe('drift monitoring on the local platform: mlops drift run, alerts to a webhook, mlops drift report', () => {
  let local: LocalPlatform;
  let warehouse: Warehouse;
  let webhook: Awaited<ReturnType<typeof webhookServer>>;
  const tenureAlerts = () => webhook.texts.filter((text) => text.includes('feature "tenure"'));
  const drift = async (hour: number) => {
    const result = await mlops('drift', 'run', '--model', 'churn', '--window-hours', '1', '--window-end', hourEnd(hour), '--json');
    expect(result.stderr).toBe('');
    return JSON.parse(result.stdout) as DriftComputed;
  };

  beforeAll(async () => {
    process.env.MLOPS_LOG_LEVEL = process.env.DEBUG_MONITORING ? '' : 'silent';
    webhook = await webhookServer('/hooks/drift');
    process.env.MLOPS_ALERT_WEBHOOK_URL = webhook.url;
    const ports = { pubsub: await freePort(), firestore: await freePort(), functions: 0 };
    const hosted = ['register-model', 'promote-model', 'registry-api', 'compute-drift', 'notify-alerts', 'monitoring-api'];
    local = await startLocalPlatform({
      dataDir: mkdtempSync(join(tmpdir(), 'monitoring-data-')),
      ports,
      fresh: true,
      scheduler: false,
      functions: STACK.functions.filter((spec) => hosted.includes(spec.name)),
    });
    warehouse = await platform().warehouse();
    const random = seeded(3);
    await warehouse.insert('offline_features', datasetRows(random, 'churn-train', 2000));
    const shifted = [false, true, true, true, true, true, false, true];
    for (const [hour, tenure] of shifted.entries()) {
      const rows = predictionRows(random, {
        model: 'churn',
        version: 1,
        start: new Date(T0.getTime() + hour * HOUR),
        spanMs: HOUR,
        count: 300,
        shift: { tenure },
        idPrefix: `h${hour}`,
      });
      await warehouse.insert('predictions', rows);
    }
    const file = join(mkdtempSync(join(tmpdir(), 'monitoring-model-')), 'model.onnx');
    writeFileSync(file, binaryClassifierOnnx());
    const upload = await mlops(
      'upload',
      file,
      '--name',
      'churn',
      '--dataset',
      'churn-train',
      '--tag',
      'drift.plan.method=psi',
      '--tag',
      'drift.plan.threshold=0.2',
    );
    expect(upload.code, upload.stderr).toBe(0);
    expect((await mlops('promote', 'churn', '1', '--to', 'production')).code).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await local?.stop();
    await new Promise((resolve) => webhook?.server.close(resolve));
    delete process.env.MLOPS_ALERT_WEBHOOK_URL;
  });

  it('compares with the version’s training dataset and applies the method and threshold its tags set', async () => {
    const result = await drift(0);
    expect(result.status).toBe('succeeded');
    const [version] = result.versions;
    expect(version).toMatchObject({ model: 'churn', version: 1, aliases: ['production'], reference: 'dataset:churn-train' });
    expect(version!.features.find((feature) => feature.feature === 'plan')).toMatchObject({ method: 'psi', threshold: 0.2, drifted: false });
    expect(version!.features.find((feature) => feature.feature === 'tenure')).toMatchObject({ method: 'wasserstein', drifted: false });
  });

  it('posts one alert while a drift persists for five runs, and one more after it recovered and came back', async () => {
    for (let hour = 1; hour <= 5; hour++) {
      const result = await drift(hour);
      expect(result.versions[0]!.features.find((feature) => feature.feature === 'tenure')?.drifted).toBe(true);
    }
    await eventually(async () => (tenureAlerts().length > 0 ? true : undefined), { timeoutMs: 15_000, what: 'the first tenure alert' });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(tenureAlerts()).toHaveLength(1);
    expect(tenureAlerts()[0]).toMatch(/Drift in churn v1: feature "tenure" — wasserstein distance \d\.\d+ is at or above 0\.1/);

    const recovered = await drift(6);
    expect(recovered.versions[0]!.alertsResolved).toContain('tenure');
    await drift(7);
    await eventually(async () => (tenureAlerts().length === 2 ? true : undefined), { timeoutMs: 15_000, what: 'the second tenure alert' });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(tenureAlerts()).toHaveLength(2);
  }, 120_000);

  it('prints the latest window per feature, and the same as JSON', async () => {
    const text = await mlops('drift', 'report', 'churn');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`churn v1: window ${new Date(T0.getTime() + 7 * HOUR).toISOString()} to ${hourEnd(7)}`);
    expect(text.stdout).toMatch(/FEATURE\s+METHOD\s+VALUE\s+THRESHOLD\s+DRIFT\s+REFERENCE\s+CURRENT/);
    expect(text.stdout).toMatch(/\ntenure\s+wasserstein\s+\d\.\d{4}\s+0\.1\s+DRIFT\s+2000\s+300/);
    expect(text.stdout).toMatch(/health: 300 predictions, latency p50\/p95\/p99 [\d.]+\/[\d.]+\/[\d.]+ ms, error rate 0\.00%/);
    expect(text.stdout).toMatch(/open alerts: .*tenure/);
    const json = JSON.parse((await mlops('drift', 'report', 'churn', '--json')).stdout) as { versions: { drift: { feature: string }[] }[] };
    expect(json.versions[0]!.drift.map((row) => row.feature)).toEqual(expect.arrayContaining(['age', 'plan', 'region', 'spend', 'tenure', '__dataset__']));
  });

  it('refuses an unknown model with its reason', async () => {
    const result = await mlops('drift', 'run', '--model', 'no-such-model', '--json');
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'failed', error: expect.stringMatching(/No model named "no-such-model"/) });
  });
});
