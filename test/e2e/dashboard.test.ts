import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalPlatform, startLocalPlatform } from '../../scripts/lib/local-platform.js';
import { modelDashboardUrl } from '../../scripts/lib/dashboard/dashboard-server.js';
import { type DemoResult, runDemo } from '../../scripts/lib/demo/run-demo.js';
import { freePort } from '../../shared/processes/processes.js';
import { launchChromium } from '../support/browser.js';

const SCREENSHOT = join(import.meta.dirname, '../../test-artifacts/dashboard.png');

/** What a chart on the page holds, read from its live Chart.js instance and its canvas pixels. */
interface ChartState {
  id: string;
  labels: unknown[];
  datasets: { label: string; points: { x?: number; y: number | null }[]; colors: unknown }[];
  /** Canvas pixels painted with every dataset shown, minus those painted with all hidden: what the data drew. */
  dataPixels: number;
}

/** The part of a Chart.js instance the test reads (the page loads Chart.js; the test does not import it). */
interface LiveChart {
  canvas: HTMLCanvasElement;
  data: { labels?: unknown[]; datasets: { label: string; data: unknown[]; backgroundColor: unknown }[] };
  setDatasetVisibility(index: number, visible: boolean): void;
  update(mode: string): void;
}

async function chartStates(page: Page): Promise<ChartState[]> {
  return page.evaluate(() => {
    const charts = (globalThis as unknown as { dashboardCharts: Map<string, LiveChart> }).dashboardCharts;
    const showAll = (chart: LiveChart, visible: boolean) => {
      for (const index of chart.data.datasets.keys()) chart.setDatasetVisibility(index, visible);
      chart.update('none');
    };
    const painted = (canvas: HTMLCanvasElement) => {
      const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let count = 0;
      for (let index = 3; index < pixels.length; index += 4) if (pixels[index]! > 0) count++;
      return count;
    };
    return [...charts].map(([id, chart]) => {
      const shown = painted(chart.canvas);
      showAll(chart, false);
      const hidden = painted(chart.canvas);
      showAll(chart, true);
      return {
        id,
        labels: chart.data.labels ?? [],
        datasets: chart.data.datasets.map((dataset) => ({
          label: dataset.label,
          points: dataset.data.map((point) => (typeof point === 'number' || point === null ? { y: point } : (point as { x: number; y: number }))),
          colors: dataset.backgroundColor,
        })),
        dataPixels: shown - hidden,
      };
    });
  });
}

// The runner's process owns the DuckDB file, so the platform runs here and the data is seeded by
// the demo's own steps (smaller), exactly as `npm run demo` makes it.
describe('the monitoring dashboard, in headless Chromium', () => {
  let local: LocalPlatform | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let demo: DemoResult;
  let charts: ChartState[];
  beforeAll(async () => {
    process.env.MLOPS_LOG_LEVEL = 'silent';
    const ports = { pubsub: await freePort(), firestore: await freePort(), functions: 0 };
    local = await startLocalPlatform({ dataDir: mkdtempSync(join(tmpdir(), 'dashboard-data-')), ports, fresh: true, scheduler: false });
    const session = { functions: {}, dashboardUrl: local.dashboardUrl, startedHere: true, stop: async () => undefined };
    const quiet = { step: () => undefined, done: () => undefined };
    demo = await runDemo(session, { workDir: mkdtempSync(join(tmpdir(), 'dashboard-work-')), predictionsPerPhase: 400, batchSize: 40, pacingMs: 20 }, quiet);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    // The address the demo prints for the model it deployed.
    await page.goto(modelDashboardUrl(local.dashboardUrl, demo.model));
    await page.waitForSelector('body[data-state="ready"]', { timeout: 15_000 });
    expect(errors).toEqual([]);
    charts = await chartStates(page);
    mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await local?.stop();
  });

  const chart = (id: string) => {
    const found = charts.find((candidate) => candidate.id === id);
    if (!found) throw new Error(`No chart ${id}; the page drew ${charts.map((candidate) => candidate.id).join(', ')}`);
    return found;
  };

  it('draws every chart with data on a painted canvas', () => {
    const drawn = charts.map((state) => state.id);
    expect(drawn).toEqual(
      expect.arrayContaining([
        'chart-aliases',
        'chart-volume',
        'chart-latency',
        'chart-drift-latest',
        'chart-performance',
        'chart-runs',
        'chart-drift-petal_width',
      ]),
    );
    for (const state of charts) {
      expect(
        state.datasets.some((dataset) => dataset.points.some((point) => point.y !== null)),
        `${state.id} has points`,
      ).toBe(true);
      // Axes, grid and legend stay when the datasets are hidden: the difference is what the data drew.
      expect(state.dataPixels, `${state.id}: pixels drawn by its data`).toBeGreaterThan(200);
    }
  });

  it('shows the prediction volume the warehouse logged and the version that served it', async () => {
    const volume = chart('chart-volume');
    const version = demo.served.version.version;
    expect(volume.datasets.map((dataset) => dataset.label)).toEqual([`v${version}`]);
    const plotted = volume.datasets[0]!.points.reduce((sum, point) => sum + (point.y ?? 0), 0);
    expect(plotted).toBe(demo.totals.predictions);
    expect(await page.locator('.card', { hasText: 'production' }).locator('.value').textContent()).toBe(`v${version}`);
  });

  it('marks the shifted petal features as drifted, and only them', () => {
    const latest = chart('chart-drift-latest');
    const bars = latest.datasets[0]!;
    const inputs = ['petal_length', 'petal_width', 'sepal_length', 'sepal_width'];
    const features = (latest.labels as string[]).map((label) => label.split(' ')[0]!);
    expect(features.slice(0, 4)).toEqual(inputs);
    const drifted = features.filter((feature, index) => inputs.includes(feature) && (bars.colors as string[])[index] === '#dc2626');
    expect(drifted).toEqual(['petal_length', 'petal_width']);
    // Drifted bars reach above the threshold line (score 1), the others stay below it.
    for (const [index, feature] of inputs.entries()) expect(bars.points[index]!.y! > 1, feature).toBe(drifted.includes(feature));
  });

  it('plots accuracy from ground truth falling once the drifted traffic arrives', () => {
    const accuracy = chart('chart-performance')
      .datasets.find((dataset) => dataset.label.endsWith('accuracy'))!
      .points.map((point) => point.y!);
    expect(accuracy.length).toBeGreaterThan(1);
    expect(accuracy.at(-1)!).toBeLessThan(accuracy[0]! - 0.1);
  });

  it('puts the experiment runs side by side with their metrics', () => {
    const runs = chart('chart-runs');
    expect(runs.labels).toHaveLength(demo.training.candidates.length);
    expect(runs.datasets.map((dataset) => dataset.label)).toEqual(expect.arrayContaining(['accuracy', 'auc']));
    expect(runs.labels).toContain(`${demo.training.best.run.name} (v${demo.served.version.version})`);
  });
});
