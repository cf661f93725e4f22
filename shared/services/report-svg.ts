/** Text made safe for HTML and SVG, in element content and in quoted attributes alike. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (character) => ESCAPES[character]!);
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** A number as a report prints it: whole thousands grouped, small values with four significant digits. */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  if (value === 0) return '0';
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 1e-3) return String(Number(value.toPrecision(4)));
  return value.toExponential(2);
}

/** One row of a threshold chart: a measured value, the threshold it is judged against, and whether it crossed it. */
export interface ThresholdBar {
  label: string;
  value: number;
  threshold: number | null;
  flagged: boolean;
}

const WIDTH = 640;
const LABEL_WIDTH = 200;
const ROW_HEIGHT = 22;
const PALETTE = ['#1f6feb', '#d97706', '#16a34a', '#9333ea', '#dc2626', '#0891b2'];

/**
 * Horizontal bars, one per row, each on its own scale (p-values and distances share a chart), with a
 * tick at the threshold: flagged rows are red.
 */
export function thresholdChart(title: string, bars: readonly ThresholdBar[]): string {
  const plot = WIDTH - LABEL_WIDTH - 70;
  const rows = bars.map((bar, index) => {
    const top = index * ROW_HEIGHT;
    const scale = Math.max(bar.value, bar.threshold ?? 0) * 1.25 || 1;
    const length = Math.max(1, (bar.value / scale) * plot);
    const tick = bar.threshold === null ? '' : thresholdTick(LABEL_WIDTH + (bar.threshold / scale) * plot, top);
    return (
      `<g><title>${escapeHtml(`${bar.label}: ${formatNumber(bar.value)} (threshold ${formatNumber(bar.threshold)})`)}</title>` +
      `<text x="${LABEL_WIDTH - 6}" y="${top + 15}" text-anchor="end">${escapeHtml(clip(bar.label))}</text>` +
      `<rect x="${LABEL_WIDTH}" y="${top + 4}" width="${length.toFixed(1)}" height="14" fill="${bar.flagged ? '#dc2626' : '#64748b'}"/>${tick}` +
      `<text x="${(LABEL_WIDTH + length + 4).toFixed(1)}" y="${top + 15}">${escapeHtml(formatNumber(bar.value))}</text></g>`
    );
  });
  return svg(title, bars.length * ROW_HEIGHT + 4, rows.join(''));
}

function thresholdTick(x: number, top: number): string {
  return `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${top + 1}" y2="${top + 21}" stroke="#111827" stroke-width="2"/>`;
}

const clip = (label: string) => (label.length > 30 ? `${label.slice(0, 29)}…` : label);

/** One line of a trend chart: points in time (ms since the epoch) and their values. */
export interface Series {
  name: string;
  points: { t: number; y: number }[];
}

const HEIGHT = 220;
const MARGIN = { left: 56, right: 16, top: 12, bottom: 40 };

/** Lines over time from zero up, a legend under them, and the first and last time on the axis. */
export function lineChart(title: string, series: readonly Series[], unit = ''): string {
  const points = series.flatMap((line) => line.points);
  const [first, last] = [Math.min(...points.map((point) => point.t)), Math.max(...points.map((point) => point.t))];
  const top = Math.max(...points.map((point) => point.y)) * 1.1 || 1;
  const x = (t: number) => MARGIN.left + (last === first ? 0.5 : (t - first) / (last - first)) * (WIDTH - MARGIN.left - MARGIN.right);
  const y = (value: number) => MARGIN.top + (1 - value / top) * (HEIGHT - MARGIN.top - MARGIN.bottom);
  const lines = series.map((line, index) => {
    const color = PALETTE[index % PALETTE.length]!;
    const path = line.points.map((point) => `${x(point.t).toFixed(1)},${y(point.y).toFixed(1)}`).join(' ');
    const dots = line.points.map((point) => `<circle cx="${x(point.t).toFixed(1)}" cy="${y(point.y).toFixed(1)}" r="3" fill="${color}"/>`).join('');
    return `<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2"/>${dots}`;
  });
  const legend = series.map(
    (line, index) =>
      `<rect x="${MARGIN.left + index * 150}" y="${HEIGHT - 14}" width="10" height="10" fill="${PALETTE[index % PALETTE.length]}"/>` +
      `<text x="${MARGIN.left + index * 150 + 14}" y="${HEIGHT - 5}">${escapeHtml(clip(line.name))}</text>`,
  );
  const axes =
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${y(0)}" stroke="#94a3b8"/>` +
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(0)}" y2="${y(0)}" stroke="#94a3b8"/>` +
    `<text x="${MARGIN.left - 6}" y="${y(0) + 4}" text-anchor="end">0</text>` +
    `<text x="${MARGIN.left - 6}" y="${MARGIN.top + 10}" text-anchor="end">${escapeHtml(formatNumber(top) + unit)}</text>` +
    `<text x="${MARGIN.left}" y="${y(0) + 16}">${escapeHtml(shortTime(first))}</text>` +
    `<text x="${WIDTH - MARGIN.right}" y="${y(0) + 16}" text-anchor="end">${escapeHtml(shortTime(last))}</text>`;
  return svg(title, HEIGHT, axes + lines.join('') + legend.join(''));
}

const shortTime = (t: number) => new Date(t).toISOString().slice(0, 16).replace('T', ' ');

function svg(title: string, height: number, body: string): string {
  return (
    `<figure><figcaption>${escapeHtml(title)}</figcaption>` +
    `<svg class="chart" role="img" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}">` +
    `<title>${escapeHtml(title)}</title>${body}</svg></figure>`
  );
}
