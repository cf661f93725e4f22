import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { type ServerType, serve } from '@hono/node-server';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboardApp } from '../../scripts/lib/dashboard/dashboard-app.js';
import { DuckDbWarehouse } from '../../shared/adapters/duckdb/duckdb-warehouse.js';
import { FirestoreModelRegistry } from '../../shared/adapters/firestore/firestore-model-registry.js';
import { FirestoreTrackingStore } from '../../shared/adapters/firestore/firestore-tracking-store.js';
import { TABLES } from '../../shared/domain/tables.js';
import type { Row } from '../../shared/ports/warehouse.port.js';
import { launchChromium } from '../support/browser.js';
import { useEmulators } from '../support/environment.js';
import { registrationRequest } from '../support/registered-model.js';

const { projectId } = useEmulators();
const client = new Firestore({ projectId, ignoreUndefinedProperties: true });
const registry = new FirestoreModelRegistry({ projectId, client });
const tracking = new FirestoreTrackingStore({ projectId, client });
const signature = {
  inputs: [{ name: 'features', type: 'float32' as const, shape: [null, 4] }],
  outputs: [{ name: 'label', type: 'int64' as const, shape: [null] }],
};

/** The single second all of churn's traffic arrived in: one bucket. */
const SINGLE_BUCKET = Date.parse('2026-03-02T16:26:40.000Z');
const HOUR = 3_600_000;
const windows = [1, 2, 3].map((index) => ({
  start: new Date(SINGLE_BUCKET + (index - 1) * HOUR).toISOString(),
  end: new Date(SINGLE_BUCKET + index * HOUR).toISOString(),
}));
const computedAt = windows.at(-1)!.end;
const of = (window: (typeof windows)[number]) => ({ model: 'churn', version: 1, window_start: window.start, window_end: window.end, computed_at: computedAt });

function prediction(model: string, version: number, at: number, index: number): Row {
  return {
    prediction_id: `${model}-${index}`,
    model,
    version,
    request_time: new Date(at).toISOString(),
    features: { tenure: index, region: index % 2 ? 'eu' : 'us' },
    outputs: { label: index % 2 },
    latency_ms: 2 + (index % 5),
    source: 'online',
  };
}

// The demo's drifted window: the long lists of drifted features and outputs are what the last column clipped.
const driftRows: Row[] = windows.slice(1).flatMap((window, index) =>
  ['petal_length', 'petal_width', 'sepal_length', 'outputs.label', 'outputs.probability'].map((feature) => ({
    ...of(window),
    feature,
    method: 'ks',
    value: index === 1 && feature !== 'sepal_length' ? 0.0001 : 0.6,
    threshold: 0.05,
    drifted: index === 1 && feature !== 'sepal_length',
    reference_size: 105,
    current_size: 400,
  })),
);

const quality = (window: (typeof windows)[number], feature: string, check: string, value: number, threshold: number | null, rows = 400) => ({
  ...of(window),
  feature,
  check,
  value,
  failing: Math.round(value * rows),
  rows,
  threshold,
  crossed: threshold !== null && value > threshold,
  reference_size: 105,
});
const qualityRows: Row[] = [
  quality(windows[1]!, 'tenure', 'missing', 0.5, 0.05),
  quality(windows[2]!, 'tenure', 'missing', 0.125, 0.05),
  quality(windows[2]!, 'tenure', 'out_of_range', 0.01, 0.05),
  quality(windows[2]!, 'tenure', 'type_violation', 0, 0),
  quality(windows[2]!, 'region', 'unseen_category', 0.2, 0.05),
  quality(windows[2]!, 'region', 'missing', 0, 0.05),
  quality(windows[2]!, '__requests__', 'refused:PREDICT.INVALID_INPUT', 12 / 412, null, 412),
];

/** tenure's importance grows window by window; region's shrinks. */
const importance = { tenure: [0.3, 0.5, 0.9], region: [0.6, 0.4, 0.1], spend: [0.1, 0.1, 0.1] };
const attributionRows: Row[] = windows.flatMap((window, index) => {
  const total = Object.values(importance).reduce((sum, values) => sum + values[index]!, 0);
  const features = Object.entries(importance).map(([feature, values]) => ({
    ...of(window),
    feature,
    method: 'linear',
    reference_importance: values[0],
    current_importance: values[index],
    reference_share: values[0]! / 1,
    current_share: values[index]! / total,
    value: Math.abs(values[index]! / total - values[0]!),
    threshold: 0.1,
    drifted: Math.abs(values[index]! / total - values[0]!) > 0.1,
    reference_size: 100,
    current_size: 200,
  }));
  const ndcg = [1, 0.95, 0.7][index]!;
  return [
    ...features,
    { ...of(window), feature: '__dataset__', method: 'ndcg', value: ndcg, threshold: 0.9, drifted: ndcg < 0.9, reference_size: 100, current_size: 200 },
  ];
});

const group = (value: string, metric: string, metricValue: number | null, predictions: number, tooSmall = false) => ({
  ...of(windows[2]!),
  attribute: 'region',
  group_value: value,
  metric,
  value: metricValue,
  predictions,
  labelled: predictions / 2,
  threshold: null,
  flagged: false,
  too_small: tooSmall,
});
const comparison = (metric: string, value: number | null, threshold: number, flagged: boolean) => ({
  ...of(windows[2]!),
  attribute: 'region',
  group_value: '__all__',
  metric,
  value,
  predictions: 380,
  labelled: 190,
  threshold,
  flagged,
  too_small: false,
});
const fairnessRows: Row[] = [
  ...['eu', 'us'].flatMap((value, index) => [
    group(value, 'selection_rate', [0.6, 0.42][index]!, 190),
    group(value, 'accuracy', [0.9, 0.8][index]!, 190),
    group(value, 'true_positive_rate', [0.85, 0.8][index]!, 190),
    group(value, 'false_positive_rate', [0.1, 0.12][index]!, 190),
  ]),
  ...['selection_rate', 'accuracy', 'true_positive_rate', 'false_positive_rate'].map((metric) => group('apac', metric, null, 8, true)),
  comparison('demographic_parity_difference', 0.18, 0.1, true),
  comparison('disparate_impact_ratio', 0.7, 0.8, true),
  comparison('equalized_odds_difference', 0.05, 0.1, false),
];

/** The live Chart.js instances the page exposes, by canvas id (the test does not import Chart.js). */
interface LiveChart {
  data: { labels?: unknown[]; datasets: { label: string; data: { x: number; y: number | null }[] }[] };
  scales: Record<string, { min: number; max: number; ticks: { value: number; label: string | string[] }[] }>;
}

async function axisOf(page: Page, id: string) {
  return page.evaluate((chartId) => {
    const chart = (globalThis as unknown as { dashboardCharts: Map<string, LiveChart> }).dashboardCharts.get(chartId)!;
    const { min, max, ticks } = chart.scales.x!;
    return {
      min,
      max,
      ticks: ticks.map((tick) => ({ value: tick.value, label: String(tick.label) })),
      points: chart.data.datasets.flatMap((dataset) => dataset.data.map((point) => point.x)),
    };
  }, id);
}

/**
 * What overflows its box sideways at the current viewport: the page itself, the panel of each table
 * (`tables`, a selector), each cell of the drift table.
 */
async function overflows(page: Page, tables = 'main table'): Promise<string[]> {
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  return page.evaluate((selector) => {
    const faults: string[] = [];
    const root = document.documentElement;
    if (root.scrollWidth > root.clientWidth) faults.push(`page ${root.scrollWidth} px wide in ${root.clientWidth}`);
    for (const table of document.querySelectorAll<HTMLTableElement>(selector)) {
      const box = table.parentElement!;
      if (table.offsetParent !== null && box.scrollWidth > box.clientWidth) faults.push(`#${table.id}: ${box.scrollWidth} px in ${box.clientWidth}`);
    }
    for (const cell of document.querySelectorAll<HTMLElement>('#drift-table td, #drift-table th')) {
      if (cell.scrollWidth > cell.clientWidth) faults.push(`#drift-table cell "${cell.textContent}": ${cell.scrollWidth} px in ${cell.clientWidth}`);
    }
    return faults;
  }, tables);
}

const tableText = (page: Page, id: string) =>
  page
    .locator(`#${id} tbody tr`)
    .evaluateAll((rows) => rows.map((row) => ({ alert: row.classList.contains('alert'), cells: [...row.children].map((cell) => cell.textContent) })));

describe('the dashboard over seeded monitoring tables, in headless Chromium', () => {
  const folder = mkdtempSync(join(tmpdir(), 'dashboard-quality-'));
  const warehouse = new DuckDbWarehouse({ path: join(folder, 'warehouse.duckdb'), dataset: 'mlops' });
  let server: ServerType;
  let url: string;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    await warehouse.ensureTables(TABLES);
    for (const [model, versions] of [
      ['churn', 1],
      ['iris', 2],
    ] as const) {
      for (let index = 0; index < versions; index++) await registry.registerVersion(registrationRequest(model, signature));
      await registry.promote({ model, version: versions, alias: 'production', actor: 'test', reason: '', requestId: randomUUID() }, { requireStaging: false });
    }
    await warehouse.insert('predictions', [
      ...Array.from({ length: 5 }, (_, index) => prediction('churn', 1, SINGLE_BUCKET, index)),
      ...Array.from({ length: 120 }, (_, index) => prediction('iris', 2, SINGLE_BUCKET + index * 60_000, 100 + index)),
    ]);
    await warehouse.insert('drift_metrics', driftRows);
    await warehouse.insert('data_quality', qualityRows);
    await warehouse.insert('feature_attributions', attributionRows);
    await warehouse.insert('fairness_metrics', fairnessRows);
    const app = createDashboardApp({ registry: async () => registry, warehouse: async () => warehouse, tracking: async () => tracking });
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (error) => errors.push(error.message));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await warehouse.close();
    await client.terminate();
    rmSync(folder, { recursive: true, force: true });
  });

  const open = async (query = '') => {
    await page.goto(`${url}/${query}`);
    await page.waitForSelector('body[data-state="ready"]', { timeout: 15_000 });
    expect(errors).toEqual([]);
  };
  const production = () => page.locator('.card', { hasText: 'production' }).locator('.value').textContent();

  it('shows the model the address names, and writes the chosen one into the address', async () => {
    await open();
    expect(await page.locator('#model').inputValue()).toBe('churn');
    await open('?model=iris');
    expect(await page.locator('#model').inputValue()).toBe('iris');
    expect(await production()).toBe('v2');
    await page.locator('#model').selectOption('churn');
    await page.waitForFunction(() => document.querySelector('.card .value')?.textContent === 'v1');
    expect(new URL(page.url()).searchParams.get('model')).toBe('churn');
  });

  it('says so when the address names a model that is not registered', async () => {
    await open('?model=nope');
    expect(await page.locator('#notice').textContent()).toContain('No model named "nope"');
    expect(await page.locator('#notice').isVisible()).toBe(true);
  });

  it('puts a single bucket of traffic at its own time, with labels near it', async () => {
    await open('?model=churn');
    for (const id of ['chart-volume', 'chart-latency']) {
      const axis = await axisOf(page, id);
      expect(new Set(axis.points), id).toEqual(new Set([SINGLE_BUCKET]));
      expect(axis.min, id).toBeLessThan(SINGLE_BUCKET);
      expect(axis.max, id).toBeGreaterThan(SINGLE_BUCKET);
      expect(axis.max - axis.min, `${id} spans minutes, not years`).toBeLessThanOrEqual(10 * 60_000);
      expect(
        axis.ticks.map((tick) => tick.value),
        id,
      ).toContain(SINGLE_BUCKET);
      expect(new Set(axis.ticks.map((tick) => tick.label)).size, `${id} labels are distinct`).toBe(axis.ticks.length);
    }
  });

  it('keeps round, ordered time labels over two hours of traffic', async () => {
    await open('?model=iris');
    const axis = await axisOf(page, 'chart-volume');
    expect(axis.min).toBeLessThanOrEqual(SINGLE_BUCKET);
    expect(axis.max).toBeGreaterThanOrEqual(SINGLE_BUCKET + 119 * 60_000);
    expect(axis.max - axis.min).toBeLessThan(3 * HOUR);
    expect(axis.ticks.length).toBeGreaterThan(2);
    expect(axis.ticks.length).toBeLessThanOrEqual(12);
  });

  it('fits the drift windows table, last column included, at a wide and a narrow viewport', async () => {
    await open('?model=churn');
    expect(await page.locator('#drift-table tbody tr').first().textContent()).toContain('outputs.probability');
    expect(await overflows(page)).toEqual([]);
    // At a phone's width the wider tables may scroll inside their panel; the drift table wraps.
    await page.setViewportSize({ width: 480, height: 1000 });
    expect(await overflows(page, '#drift-table')).toEqual([]);
    await page.setViewportSize({ width: 1400, height: 1000 });
  });

  it("lists the latest window's data quality checks, crossed ones in red, and refusals by code", async () => {
    await open('?model=churn');
    const checks = await tableText(page, 'quality-table');
    expect(checks.map((row) => [row.cells[0], row.cells[1], row.alert])).toEqual([
      ['region', 'unseen_category', true],
      ['tenure', 'missing', true],
      ['region', 'missing', false],
      ['tenure', 'out_of_range', false],
      ['tenure', 'type_violation', false],
    ]);
    expect(checks[1]!.cells.slice(2)).toEqual(['12.5%', '50 of 400', '5.0%']);
    const refused = await tableText(page, 'quality-refused');
    expect(refused.map((row) => row.cells)).toEqual([['PREDICT.INVALID_INPUT', '12', '2.9%']]);
  });

  it('plots each feature importance per window and tables the latest attribution drift', async () => {
    await open('?model=churn');
    const plotted = await page.evaluate(() => {
      const chart = (globalThis as unknown as { dashboardCharts: Map<string, LiveChart> }).dashboardCharts.get('chart-importance')!;
      return chart.data.datasets.map((dataset) => ({ label: dataset.label, values: dataset.data.map((point) => point.y) }));
    });
    expect(plotted).toEqual(
      Object.entries(importance)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([label, values]) => ({ label, values })),
    );
    const drift = await tableText(page, 'importance-table');
    expect(drift.map((row) => [row.cells[0], row.alert])).toEqual([
      ['tenure', true],
      ['region', true],
      ['spend', false],
      ['ranking (nDCG)', true],
    ]);
    expect(drift.at(-1)!.cells.slice(1, 4)).toEqual(['–', '–', '0.700']);
  });

  it('shows fairness per group with the too-small group marked, and the flagged comparisons in red', async () => {
    await open('?model=churn');
    const groups = await tableText(page, 'fairness-groups');
    expect(groups.map((row) => row.cells)).toEqual([
      ['region', 'apac', '8', 'too small', 'too small', 'too small', 'too small'],
      ['region', 'eu', '190', '60.0%', '90.0%', '85.0%', '10.0%'],
      ['region', 'us', '190', '42.0%', '80.0%', '80.0%', '12.0%'],
    ]);
    const comparisons = await tableText(page, 'fairness-comparisons');
    expect(comparisons.map((row) => [row.cells[1], row.cells[2], row.cells[3], row.alert])).toEqual([
      ['demographic parity difference', '0.180', 'at most 0.1', true],
      ['disparate impact ratio', '0.700', 'at least 0.8', true],
      ['equalized odds difference', '0.050', 'at most 0.1', false],
    ]);
  });
});
