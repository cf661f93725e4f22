import { DATASET_FEATURE } from '../domain/drift/drift-result.js';
import { escapeHtml as e, formatNumber, lineChart, type Series, thresholdChart } from './report-svg.js';
import type { HistoryPoint, ModelWindowReport, ReportedVersion, VersionWindow } from './window-report.js';

/** The sections of a report, in the order they appear, by element id. */
export const REPORT_SECTIONS = ['drift', 'performance', 'quality', 'latency', 'versions'] as const;

const TITLES: Record<(typeof REPORT_SECTIONS)[number], string> = {
  drift: 'Drift',
  performance: 'Performance',
  quality: 'Data quality',
  latency: 'Latency and traffic',
  versions: 'Versions',
};

// Inline, so the file opens from a bucket, a mail or a disk with nothing else to fetch.
const STYLE = `body{font:14px/1.45 system-ui,sans-serif;color:#111827;margin:0 auto;max-width:960px;padding:16px 24px}
h1{font-size:22px;margin:8px 0}h2{font-size:18px;border-bottom:1px solid #e5e7eb;padding-bottom:4px;margin-top:28px}h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;margin:6px 0 10px}th,td{border:1px solid #e5e7eb;padding:3px 8px;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.flagged td{background:#fef2f2;color:#991b1b}.waiting{color:#6b7280;font-style:italic}nav a{margin-right:12px}
svg.chart{display:block;max-width:100%;height:auto;font-size:11px;margin:4px 0}figure{margin:10px 0}figcaption{font-weight:600;font-size:13px}.alert{color:#991b1b;font-weight:600}`;

/**
 * One model's monitoring over one window as a self-contained HTML page: drift, performance, data
 * quality, latency and versions, with inline CSS and SVG charts and no external asset. Every value
 * from the warehouse or the registry is escaped.
 */
export function renderMonitoringReport(report: ModelWindowReport): string {
  const title = `${report.model}: monitoring ${report.windowStart} to ${report.windowEnd}`;
  const sections: Record<(typeof REPORT_SECTIONS)[number], string> = {
    drift: driftSection(report),
    performance: performanceSection(report),
    quality: qualitySection(report),
    latency: latencySection(report),
    versions: versionsSection(report.versions),
  };
  const body = REPORT_SECTIONS.map((id) => `<section id="${id}"><h2>${TITLES[id]}</h2>${sections[id]}</section>`).join('\n');
  const nav = REPORT_SECTIONS.map((id) => `<a href="#${id}">${TITLES[id]}</a>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)}</title><style>${STYLE}</style></head>
<body><header><h1>Model ${e(report.model)}</h1><p>Window ${e(report.windowStart)} to ${e(report.windowEnd)}. ${summary(report)}</p><nav>${nav}</nav></header>
${body}
<footer><p class="waiting">Written from the monitoring tables (drift_metrics, model_performance, data_quality, service_health, drift_alerts); run "mlops drift run --model ${e(report.model)}" to measure a window again.</p></footer>
</body></html>
`;
}

function summary(report: ModelWindowReport): string {
  if (report.windows.length === 0) return `<span class="waiting">No monitoring run has measured this window yet.</span>`;
  const alerts = report.windows.flatMap((window) => window.openAlerts.map((alert) => `v${window.version} ${alert.feature}`));
  const computed = report.windows
    .map((window) => window.computedAt)
    .filter(Boolean)
    .sort()
    .at(-1);
  const open = alerts.length > 0 ? `<span class="alert">Open alerts: ${e(alerts.join(', '))}.</span>` : 'No open alerts.';
  return `Measured at ${e(computed)}. ${open}`;
}

const label = (report: ModelWindowReport, version: number) => {
  const aliases = report.versions.find((entry) => entry.version === version)?.aliases ?? [];
  return `v${version}${aliases.length > 0 ? ` (${aliases.join(', ')})` : ''}`;
};

const waiting = (text: string) => `<p class="waiting">${e(text)}</p>`;
const cell = (value: unknown) => `<td>${e(value)}</td>`;
const numberCell = (value: number | null | undefined) => `<td class="n">${e(formatNumber(value))}</td>`;

function table(head: string[], rows: { cells: string; flagged?: boolean }[]): string {
  const header = `<tr>${head.map((name) => `<th>${e(name)}</th>`).join('')}</tr>`;
  return `<table>${header}${rows.map((row) => `<tr${row.flagged ? ' class="flagged"' : ''}>${row.cells}</tr>`).join('')}</table>`;
}

function perVersion(report: ModelWindowReport, render: (window: VersionWindow) => string | undefined, empty: string): string {
  const parts = report.windows.map((window) => [window, render(window)] as const).filter(([, html]) => html !== undefined);
  if (parts.length === 0) return waiting(empty);
  return parts.map(([window, html]) => `<h3>${e(label(report, window.version))}</h3>${html}`).join('');
}

function driftSection(report: ModelWindowReport): string {
  const current = perVersion(
    report,
    (window) => {
      const rows = window.drift.filter((row) => row.feature !== DATASET_FEATURE);
      if (rows.length === 0) return undefined;
      const dataset = window.drift.find((row) => row.feature === DATASET_FEATURE);
      const share = dataset
        ? `<p>Share of input features drifted: ${e(formatNumber(dataset.value))} (threshold ${e(formatNumber(dataset.threshold))})${dataset.drifted ? ' <span class="alert">dataset drifted</span>' : ''}.</p>`
        : '';
      const chart = thresholdChart(
        `Drift of ${label(report, window.version)} (a p-value drifts below its threshold, a distance at or above it)`,
        rows.map((row) => ({ label: row.feature, value: row.value, threshold: row.threshold, flagged: row.drifted })),
      );
      const list = table(
        ['feature', 'method', 'value', 'threshold', 'drifted', 'reference rows', 'window rows'],
        rows.map((row) => ({
          flagged: row.drifted,
          cells:
            cell(row.feature) +
            cell(row.method) +
            numberCell(row.value) +
            numberCell(row.threshold) +
            cell(row.drifted ? 'yes' : 'no') +
            numberCell(row.referenceSize) +
            numberCell(row.currentSize),
        })),
      );
      return share + chart + list;
    },
    'No drift measured in this window: drift needs a reference (a training dataset, or the first full window after launch).',
  );
  return current + trend(report, 'Share of input features drifted, window by window', (point) => point.driftShare);
}

function performanceSection(report: ModelWindowReport): string {
  const current = perVersion(
    report,
    (window) =>
      window.performance.length === 0
        ? undefined
        : `<p>${e(formatNumber(window.performance[0]!.labelled))} of ${e(formatNumber(window.performance[0]!.predictions))} predictions had ground truth.</p>` +
          table(
            ['metric', 'value'],
            window.performance.map((row) => ({ cells: cell(row.metric) + numberCell(row.value) })),
          ),
    'No performance in this window: send ground truth with "mlops ground-truth <file>", joined to predictions by prediction id.',
  );
  const metrics = [...new Set(report.history.flatMap((point) => Object.keys(point.metrics)))].filter((metric) => metric !== 'labelled_share');
  return current + metrics.map((metric) => trend(report, `${metric}, window by window`, (point) => point.metrics[metric] ?? null)).join('');
}

function qualitySection(report: ModelWindowReport): string {
  return perVersion(
    report,
    (window) => {
      const checks = window.quality.filter((row) => row.feature !== '__requests__');
      const refused = window.quality.filter((row) => row.feature === '__requests__');
      if (checks.length === 0 && refused.length === 0) return undefined;
      const failing = checks.filter((row) => row.value > 0 || row.crossed);
      const chart = thresholdChart(
        `Data quality of ${label(report, window.version)}: the checks any prediction failed`,
        failing.map((row) => ({ label: `${row.feature} ${row.check}`, value: row.value, threshold: row.threshold, flagged: row.crossed })),
      );
      const list = table(
        ['feature', 'check', 'share failing', 'failing', 'rows', 'threshold'],
        [...checks, ...refused].map((row) => ({
          flagged: row.crossed,
          cells: cell(row.feature) + cell(row.check) + numberCell(row.value) + numberCell(row.failing) + numberCell(row.rows) + numberCell(row.threshold),
        })),
      );
      return (failing.length > 0 ? chart : '') + list;
    },
    'No data quality checks in this window.',
  );
}

function latencySection(report: ModelWindowReport): string {
  const current = perVersion(
    report,
    (window) =>
      window.health === null
        ? undefined
        : table(
            ['predictions', 'online', 'batch', 'p50 ms', 'p95 ms', 'p99 ms', 'error rate'],
            [
              {
                cells: [
                  window.health.predictions,
                  window.health.online,
                  window.health.batch,
                  window.health.p50,
                  window.health.p95,
                  window.health.p99,
                  window.health.errorRate,
                ]
                  .map(numberCell)
                  .join(''),
              },
            ],
          ),
    'No predictions measured in this window.',
  );
  const versions = [...new Set(report.history.map((point) => point.version))].sort((a, b) => b - a);
  const charts = versions.map((version) => {
    const points = report.history.filter((point) => point.version === version);
    const series = (['p50', 'p95', 'p99'] as const).map((name) => seriesOf(name, points, (point) => point[name]));
    const drawn = series.filter((line) => line.points.length > 0);
    return drawn.length > 0 ? lineChart(`Online latency of ${label(report, version)}, window by window`, drawn, ' ms') : '';
  });
  return current + charts.join('');
}

function versionsSection(versions: ReportedVersion[]): string {
  if (versions.length === 0) return waiting('No version of this model holds an alias or was measured in this window.');
  return table(
    ['version', 'aliases', 'status', 'registered', 'reference dataset', 'artifact'],
    versions.map((version) => ({
      cells:
        cell(`v${version.version}`) +
        cell(version.aliases.join(', ') || '–') +
        cell(version.status) +
        cell(version.createdAt) +
        cell(version.datasetId ?? '–') +
        cell(version.artifactUri),
    })),
  );
}

function seriesOf(name: string, points: HistoryPoint[], pick: (point: HistoryPoint) => number | null): Series {
  return {
    name,
    points: points.flatMap((point) => {
      const y = pick(point);
      return y === null ? [] : [{ t: Date.parse(point.windowEnd), y }];
    }),
  };
}

/** One line per version over the earlier windows, when at least one has two points to draw. */
function trend(report: ModelWindowReport, title: string, pick: (point: HistoryPoint) => number | null): string {
  const versions = [...new Set(report.history.map((point) => point.version))].sort((a, b) => b - a);
  const series = versions.map((version) =>
    seriesOf(
      label(report, version),
      report.history.filter((point) => point.version === version),
      pick,
    ),
  );
  return series.some((line) => line.points.length > 1)
    ? lineChart(
        title,
        series.filter((line) => line.points.length > 0),
      )
    : '';
}
