import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbWarehouse } from '../../shared/adapters/duckdb/duckdb-warehouse.js';
import { LocalBucketArtifactStore } from '../../shared/adapters/local-bucket/local-bucket-artifact-store.js';
import { alertText, type DriftAlert } from '../../shared/domain/monitoring-events.js';
import { TABLES } from '../../shared/domain/tables.js';
import { TOPICS } from '../../shared/domain/topics.js';
import { runMonitoring } from '../../shared/services/monitoring-run.js';
import { reportLink, reportObjectName, writeReports } from '../../shared/services/write-reports.js';
import { datasetRows, predictionRows, recordingBus, registryWith, seeded } from '../support/drift-scenario.js';

const HOUR = 3_600_000;
const T0 = new Date('2026-03-01T00:00:00Z');
const at = (hours: number) => new Date(T0.getTime() + hours * HOUR);
const DASHBOARD = 'http://127.0.0.1:8090';
const HOSTILE = '<img src=x onerror="alert(1)">';

// Two monitored days of one classifier against its training dataset: the first as trained, the
// second with tenure and plan shifted, so the second run opens alerts and writes the report they link to.
describe('monitoring reports (DuckDB + local bucket)', () => {
  let folder: string;
  let warehouse: DuckDbWarehouse;
  let artifacts: LocalBucketArtifactStore;
  const bus = recordingBus();
  const registry = registryWith('churn', [{ version: 1, aliases: ['production'], datasetId: 'train' }]);
  const stores = () => ({ warehouse, registry, artifacts });

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'write-reports-'));
    warehouse = new DuckDbWarehouse({ path: join(folder, 'warehouse.duckdb'), dataset: 'mlops' });
    await warehouse.ensureTables(TABLES);
    artifacts = new LocalBucketArtifactStore({ root: join(folder, 'bucket'), bucket: 'reports-test' });
    const random = seeded(20);
    await warehouse.insert('offline_features', datasetRows(random, 'train', 2000));
    const day = (start: Date, shifted: boolean, idPrefix: string) =>
      predictionRows(random, { model: 'churn', version: 1, start, spanMs: 24 * HOUR, count: 1500, idPrefix, shift: { tenure: shifted, plan: shifted } });
    await warehouse.insert('predictions', [...day(at(0), false, 'd1'), ...day(at(24), true, 'd2')]);
    for (const end of [at(24), at(48)]) {
      await runMonitoring(
        { registry, warehouse, bus, clock: { now: () => end }, reports: { artifacts, dashboardUrl: DASHBOARD } },
        { windowHours: 24, windowEnd: end },
      );
    }
  }, 120_000);

  afterAll(async () => {
    await warehouse?.close();
    await rm(folder, { recursive: true, force: true });
  });

  const alerts = () => bus.published.filter((event) => event.topic === TOPICS.driftAlerts).map((event) => event.data as DriftAlert);
  const stored = async (end: Date) => Buffer.from(await artifacts.get(reportObjectName('churn', end))).toString('utf8');

  it('links every alert the shifted day opened to the report of its window, which was written before the alert went out', async () => {
    const link = `${DASHBOARD}/reports/churn/${at(48).toISOString()}.html`;
    expect(alerts().map((alert) => alert.feature)).toEqual(expect.arrayContaining(['tenure', 'plan']));
    expect(alerts().every((alert) => alert.windowEnd === at(48).toISOString() && alert.report === link)).toBe(true);
    expect(alertText(alerts()[0]!)).toMatch(new RegExp(` Report: ${link.replaceAll('.', '\\.')}$`));
    // The first day opened nothing, so no report of it was written.
    expect(await artifacts.stat(reportObjectName('churn', at(24)))).toBeUndefined();
  });

  it('shows drift, performance, data quality, latency and versions, with the drifted features and the open alerts', async () => {
    const html = await stored(at(48));
    for (const section of ['drift', 'performance', 'quality', 'latency', 'versions']) expect(html).toContain(`<section id="${section}">`);
    expect(html).toMatch(/<tr class="flagged"><td>tenure<\/td><td>[a-z_]+<\/td>/);
    expect(html).toMatch(/<tr class="flagged"><td>plan<\/td>/);
    expect(html).not.toMatch(/<tr class="flagged"><td>age<\/td>/);
    expect(html).toMatch(/Open alerts: [^<]*v1 plan/);
    expect(html).toContain('<h3>v1 (production)</h3>');
    expect(html).toContain('<td>gs://bucket/models/churn/1/model.onnx</td>');
    // Two windows of 24 hours: the trend charts have a line to draw.
    expect(html).toContain('<title>Share of input features drifted, window by window</title>');
    expect(html).toContain('<title>Online latency of v1 (production), window by window</title>');
    expect(html).not.toMatch(/<(script|link|img|iframe)\b/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
  });

  it('writes nothing new for a window whose tables did not change, and rewrites it when they did, escaping every value', async () => {
    const before = await artifacts.stat(reportObjectName('churn', at(48)));
    const clock = { now: () => new Date(at(48).getTime() + 30 * 60_000) };
    const again = await writeReports({ ...stores(), window: { hours: 24 }, clock });
    expect(again.written).toEqual([
      {
        model: 'churn',
        uri: `gs://reports-test/reports/churn/${at(48).toISOString()}.html`,
        changed: false,
        object: expect.objectContaining({ generation: before!.generation }),
      },
    ]);

    await warehouse.insert('drift_metrics', [
      {
        model: 'churn',
        version: 1,
        feature: HOSTILE,
        method: 'psi',
        value: 0.5,
        threshold: 0.2,
        drifted: true,
        window_start: at(24).toISOString(),
        window_end: at(48).toISOString(),
        reference_size: 10,
        current_size: 10,
        computed_at: at(48).toISOString(),
      },
    ]);
    const [changed] = (await writeReports({ ...stores(), models: ['churn'], window: { hours: 24, end: at(48) } })).written;
    expect(changed).toMatchObject({ changed: true });
    expect(BigInt(changed!.object.generation)).toBeGreaterThan(BigInt(before!.generation));
    const html = await stored(at(48));
    expect(html).toContain('<td>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</td>');
    expect(html).not.toContain(HOSTILE);
  });

  it('says when no run measured the window, and refuses a window out of range or an unknown model', async () => {
    const [empty] = (await writeReports({ ...stores(), models: ['churn'], window: { hours: 24, end: at(72) } })).written;
    expect(await stored(at(72))).toContain('No monitoring run has measured this window yet.');
    expect(reportLink(empty!.object)).toBe(`https://storage.cloud.google.com/reports-test/reports/churn/${encodeURIComponent(at(72).toISOString())}.html`);
    await expect(writeReports({ ...stores(), window: { hours: 0 } })).rejects.toMatchObject({ code: 'REQUEST.INVALID' });
    await expect(writeReports({ ...stores(), models: ['nobody'], window: { hours: 24 } })).rejects.toMatchObject({ code: 'REGISTRY.MODEL_NOT_FOUND' });
    await expect(writeReports({ ...stores(), models: ['../x'], window: { hours: 24 } })).rejects.toMatchObject({ code: 'NAME.INVALID' });
  });
});
