import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardApp } from '../../scripts/lib/dashboard/dashboard-app.js';
import { DuckDbWarehouse } from '../../shared/adapters/duckdb/duckdb-warehouse.js';
import { LocalBucketArtifactStore } from '../../shared/adapters/local-bucket/local-bucket-artifact-store.js';
import type { DriftAlert } from '../../shared/domain/monitoring-events.js';
import { TABLES } from '../../shared/domain/tables.js';
import { TOPICS } from '../../shared/domain/topics.js';
import { runMonitoring } from '../../shared/services/monitoring-run.js';
import { writeReports } from '../../shared/services/write-reports.js';
import { launchChromium } from '../support/browser.js';
import { datasetRows, predictionRows, recordingBus, registryWith, seeded } from '../support/drift-scenario.js';

const HOUR = 3_600_000;
const T0 = new Date('2026-04-01T00:00:00Z');
const at = (hours: number) => new Date(T0.getTime() + hours * HOUR);
const HOSTILE = '<img src=x onerror="document.title=\'owned\'">';

// An alert's link opened in a real browser: the local dashboard serves the stored report, which
// renders every section and chart from the one document, fetching nothing else.
describe('a monitoring report in Chromium, through the link its alert carries', () => {
  let folder: string;
  let warehouse: DuckDbWarehouse;
  let server: ServerType;
  let browser: Browser;
  let link: string;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'report-browser-'));
    warehouse = new DuckDbWarehouse({ path: join(folder, 'warehouse.duckdb'), dataset: 'mlops' });
    await warehouse.ensureTables(TABLES);
    const artifacts = new LocalBucketArtifactStore({ root: join(folder, 'bucket'), bucket: 'local-reports' });
    const registry = registryWith('fraud', [{ version: 3, aliases: ['production'], datasetId: 'train' }]);
    const app = createDashboardApp({
      registry: async () => registry,
      warehouse: async () => warehouse,
      tracking: async () => Promise.reject(new Error('the report route reads no runs')),
      artifacts: async () => artifacts,
    });
    server = await new Promise<ServerType>((resolve) => {
      const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started));
    });
    const dashboardUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const random = seeded(7);
    await warehouse.insert('offline_features', datasetRows(random, 'train', 1500));
    const day = (start: Date, shifted: boolean, idPrefix: string) =>
      predictionRows(random, { model: 'fraud', version: 3, start, spanMs: 24 * HOUR, count: 1000, idPrefix, shift: { tenure: shifted } });
    await warehouse.insert('predictions', [...day(at(0), false, 'a'), ...day(at(24), true, 'b')]);
    const bus = recordingBus();
    for (const end of [at(24), at(48)]) {
      await runMonitoring({ registry, warehouse, bus, clock: { now: () => end }, reports: { artifacts, dashboardUrl } }, { windowHours: 24, windowEnd: end });
    }
    const alert = bus.published.find((event) => event.topic === TOPICS.driftAlerts)?.data as DriftAlert;
    link = alert.report!;
    // A feature name that would run script if it were pasted into the page unescaped.
    await warehouse.insert('data_quality', [
      {
        model: 'fraud',
        version: 3,
        feature: HOSTILE,
        check: 'missing',
        value: 0.5,
        failing: 500,
        rows: 1000,
        threshold: 0.05,
        crossed: true,
        reference_size: 1500,
        window_start: at(24).toISOString(),
        window_end: at(48).toISOString(),
        computed_at: at(48).toISOString(),
      },
    ]);
    await writeReports({ warehouse, registry, artifacts, models: ['fraud'], window: { hours: 24, end: at(48) } });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
    await warehouse?.close();
    await rm(folder, { recursive: true, force: true });
  });

  it('renders every section and its charts from the one document, with no other request and no script run', async () => {
    expect(link).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/reports\/fraud\/2026-04-03T00:00:00\.000Z\.html$/);
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    const response = await page.goto(link);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toBe("default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    expect(requests).toEqual([link]);
    expect(await page.title()).toBe('fraud: monitoring 2026-04-02T00:00:00.000Z to 2026-04-03T00:00:00.000Z');
    expect(await page.locator('section > h2').allTextContents()).toEqual(['Drift', 'Performance', 'Data quality', 'Latency and traffic', 'Versions']);
    const charts = await page
      .locator('svg.chart')
      .evaluateAll((svgs) => svgs.map((svg) => ({ title: svg.querySelector('title')?.textContent, ...svg.getBoundingClientRect().toJSON() })));
    expect(charts.map((chart) => chart.title)).toEqual(
      expect.arrayContaining([
        'Drift of v3 (production) (a p-value drifts below its threshold, a distance at or above it)',
        'Data quality of v3 (production): the checks any prediction failed',
        'Online latency of v3 (production), window by window',
      ]),
    );
    expect(charts.every((chart) => chart.width > 300 && chart.height > 20)).toBe(true);
    // The drifted feature's bar is red; the hostile name is text in a cell, not an element.
    const tenureBar = page.locator('#drift svg g', { hasText: 'tenure' }).locator('rect');
    expect(await tenureBar.getAttribute('fill')).toBe('#dc2626');
    expect(await page.locator('#quality td', { hasText: 'onerror' }).first().textContent()).toBe(HOSTILE);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.title()).not.toBe('owned');
    await page.close();
  });

  it('answers 404 for a report that does not exist or a name outside the reports', async () => {
    const base = new URL(link).origin;
    const missing = await fetch(`${base}/reports/fraud/2026-01-01T00:00:00.000Z.html`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'ARTIFACT.NOT_FOUND' });
    const outside = await fetch(`${base}/reports/fraud/..%2F..%2Fmodels%2Fx.onnx`);
    expect(outside.status).toBe(404);
  });
});
