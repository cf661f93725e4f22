import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';
import { PlatformError } from '../../../shared/domain/errors.js';
import { validateModelName } from '../../../shared/domain/names.js';
import { notFound, onError } from '../../../shared/http/errors.js';
import type { ArtifactStore } from '../../../shared/ports/artifact-store.port.js';
import type { ModelRegistry } from '../../../shared/ports/model-registry.port.js';
import type { TrackingStore } from '../../../shared/ports/tracking-store.port.js';
import type { Warehouse } from '../../../shared/ports/warehouse.port.js';
import { attributionSeries, fairnessLatest, qualityLatest } from './dashboard-family-queries.js';
import { modelDetails, modelRuns } from './dashboard-registry.js';
import { driftSeries, performanceSeries, predictedColumns, trafficSeries, versionTotals } from './dashboard-queries.js';

/** What the dashboard reads: the runner's own adapters (only its process may open the DuckDB file). */
export interface DashboardOptions {
  registry: () => Promise<ModelRegistry>;
  warehouse: () => Promise<Warehouse>;
  tracking: () => Promise<TrackingStore>;
  /** The bucket monitoring reports are written to; without it /reports/ answers 404. */
  artifacts?: () => Promise<ArtifactStore>;
}

const STATIC_FOLDER = join(import.meta.dirname, 'static');
// Chart.js is served from node_modules: the page needs no network beyond this server.
const CHART_JS = join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js');

/** Every file the page loads, by URL path; nothing else on disk is reachable. */
const FILES: Record<string, { path: string; type: string }> = {
  '/': { path: join(STATIC_FOLDER, 'index.html'), type: 'text/html; charset=utf-8' },
  '/dashboard.js': { path: join(STATIC_FOLDER, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { path: join(STATIC_FOLDER, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  '/vendor/chart.umd.min.js': { path: CHART_JS, type: 'text/javascript; charset=utf-8' },
};

/**
 * The local monitoring dashboard: a static page with Chart.js, and JSON endpoints over the
 * registry (models, versions, aliases, history, rollouts), the warehouse (traffic, drift, performance, data
 * quality, feature importance, fairness) and experiment tracking (runs side by side).
 */
export function createDashboardApp({ registry, warehouse, tracking, artifacts }: DashboardOptions): Hono {
  const app = new Hono();
  app.onError(onError);
  app.notFound(notFound());
  app.get('/api/health', (c) => c.json({ status: 'ok' }));
  app.get('/api/models', async (c) => c.json(await (await registry()).listModels()));
  app.get('/api/models/:name', async (c) => c.json(await modelDetails(await registry(), c.req.param('name'))));
  // Each version's label and value are read by the roles of its task, so every converter's naming counts.
  const predicted = async (name: string) => predictedColumns(await (await registry()).listVersions(name));
  app.get('/api/models/:name/summary', async (c) =>
    c.json({ versions: await versionTotals(await warehouse(), c.req.param('name'), await predicted(c.req.param('name'))) }),
  );
  app.get('/api/models/:name/traffic', async (c) => c.json(await trafficSeries(await warehouse(), c.req.param('name'))));
  app.get('/api/models/:name/performance', async (c) =>
    c.json(await performanceSeries(await warehouse(), c.req.param('name'), await predicted(c.req.param('name')))),
  );
  app.get('/api/models/:name/drift', async (c) => c.json(await driftSeries(await warehouse(), c.req.param('name'))));
  app.get('/api/models/:name/quality', async (c) => c.json(await qualityLatest(await warehouse(), c.req.param('name'))));
  app.get('/api/models/:name/attributions', async (c) => c.json(await attributionSeries(await warehouse(), c.req.param('name'))));
  app.get('/api/models/:name/fairness', async (c) => c.json(await fairnessLatest(await warehouse(), c.req.param('name'))));
  app.get('/api/models/:name/rollouts', async (c) => c.json(await (await registry()).listRollouts(c.req.param('name'))));
  app.get('/api/models/:name/runs', async (c) => c.json(await modelRuns(await registry(), await tracking(), c.req.param('name'))));
  app.get('/reports/:model/:file', async (c) => c.body(await storedReport(artifacts, c.req.param('model'), c.req.param('file')), 200, REPORT_HEADERS));
  for (const [path, file] of Object.entries(FILES)) {
    app.get(path, async (c) => c.body(await readFile(file.path), 200, { 'content-type': file.type, 'cache-control': 'no-cache' }));
  }
  app.notFound((c) => c.json({ error: `No route ${c.req.method} ${c.req.path}.` }, 404));
  return app;
}

/** A report's file name: its window end, as write-reports names it. */
const REPORT_FILE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\.html$/;

// A stored report holds values from requests: it may show them but never run anything or fetch anything.
const REPORT_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
  'cache-control': 'no-cache',
};

/** The stored report `reports/<model>/<window end>.html`, so the link an alert carries opens in a browser locally. */
async function storedReport(artifacts: DashboardOptions['artifacts'], model: string, file: string): Promise<Uint8Array<ArrayBuffer>> {
  if (!artifacts) throw new PlatformError('REQUEST.NOT_FOUND', 'This dashboard was started without the bucket reports are written to.');
  if (!REPORT_FILE.test(file))
    throw new PlatformError('REQUEST.NOT_FOUND', `No report "${file}": reports are named by their window end, e.g. 2026-03-01T00:00:00.000Z.html.`);
  return new Uint8Array(await (await artifacts()).get(`reports/${validateModelName(model)}/${file}`));
}
