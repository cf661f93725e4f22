import { createHash } from 'node:crypto';
import { PlatformError } from '../domain/errors.js';
import { MAX_WINDOW_HOURS } from '../domain/monitoring-events.js';
import { validateModelName } from '../domain/names.js';
import type { ArtifactStore, StoredObject } from '../ports/artifact-store.port.js';
import { type Clock, systemClock } from '../ports/clock.port.js';
import type { ModelRegistry } from '../ports/model-registry.port.js';
import type { Warehouse } from '../ports/warehouse.port.js';
import { renderMonitoringReport } from './monitoring-report-html.js';
import { type ReportWindow, readWindowReport } from './window-report.js';

/** Where a report is read from and written to. */
export interface ReportStores {
  warehouse: Warehouse;
  registry: ModelRegistry;
  artifacts: ArtifactStore;
}

/** What a `report` job runs: which models, over which window. */
export interface WriteReportsOptions extends ReportStores {
  /** Only these models; every model with an alias by default. */
  models?: string[];
  /** The window's length, and its end: by default the top of the current hour, as a scheduled monitoring run ends it. */
  window: { hours: number; end?: Date };
  clock?: Clock;
}

/** One report written (or found already written with the same content). */
export interface WrittenReport {
  model: string;
  /** gs://bucket/reports/<model>/<window end>.html */
  uri: string;
  /** False when the stored report already had exactly this content, so nothing was written. */
  changed: boolean;
  object: StoredObject;
}

const HOUR_MS = 3_600_000;

/** The object a model's report of a window is stored as: one per model and window end. */
export function reportObjectName(model: string, windowEnd: Date): string {
  return `reports/${model}/${windowEnd.toISOString()}.html`;
}

/**
 * Where a stored report opens in a browser: under the local dashboard's `/reports/` when it is given,
 * else Cloud Storage's authenticated browser address (https://storage.cloud.google.com/<bucket>/<object>,
 * cloud.google.com/storage/docs/downloading-objects), which asks for a Google sign-in with read access.
 */
export function reportLink(object: Pick<StoredObject, 'bucket' | 'name'>, dashboardUrl?: string): string {
  if (dashboardUrl) return new URL(`/${object.name}`, dashboardUrl).toString();
  return `https://storage.cloud.google.com/${object.bucket}/${object.name.split('/').map(encodeURIComponent).join('/')}`;
}

/** Writes one self-contained HTML report per model for the window; a re-run over unchanged tables writes nothing new. */
export async function writeReports({ models, window, clock = systemClock, ...stores }: WriteReportsOptions): Promise<{ written: WrittenReport[] }> {
  const span = reportWindow(window, clock);
  const names = models ?? (await stores.registry.listModels()).filter((model) => Object.keys(model.aliases).length > 0).map((model) => model.name);
  const written: WrittenReport[] = [];
  for (const model of [...names].sort()) written.push(await writeModelReport(stores, model, span));
  return { written };
}

/** Writes one model's report of a window to `reports/<model>/<window end>.html`, unless the stored one is the same. */
export async function writeModelReport({ warehouse, registry, artifacts }: ReportStores, model: string, window: ReportWindow): Promise<WrittenReport> {
  validateModelName(model);
  const html = Buffer.from(renderMonitoringReport(await readWindowReport(warehouse, registry, model, window)));
  const name = reportObjectName(model, window.end);
  const stored = await artifacts.stat(name);
  if (stored && stored.md5Hash === createHash('md5').update(html).digest('base64')) return { model, uri: stored.uri, changed: false, object: stored };
  const object = await artifacts.put(name, html, {
    contentType: 'text/html; charset=utf-8',
    metadata: { model, windowStart: window.start.toISOString(), windowEnd: window.end.toISOString() },
  });
  return { model, uri: object.uri, changed: true, object };
}

function reportWindow({ hours, end }: WriteReportsOptions['window'], clock: Clock): ReportWindow {
  if (!(hours > 0 && hours <= MAX_WINDOW_HOURS)) {
    throw new PlatformError(
      'REQUEST.INVALID',
      `A report window of ${hours} hours is out of range: give between 1 and ${MAX_WINDOW_HOURS} hours, as drift runs use.`,
    );
  }
  const until = end ?? new Date(Math.floor(clock.now().getTime() / HOUR_MS) * HOUR_MS);
  if (Number.isNaN(until.getTime()))
    throw new PlatformError('REQUEST.INVALID', 'The report window has no valid end: give an ISO time such as 2026-03-01T00:00:00Z.');
  return { start: new Date(until.getTime() - hours * HOUR_MS), end: until };
}
