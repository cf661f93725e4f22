import type { FairnessReport, ImportanceReport, QualityReport } from '../../shared/services/monitoring-report.js';
import { table } from './format.js';

/** A figure with four decimals, a tiny one in exponent form, nothing for none. */
export const formatNumber = (value: number | null | undefined): string =>
  value === null || value === undefined ? '' : Math.abs(value) >= 1e-3 || value === 0 ? value.toFixed(4) : value.toExponential(2);

const percent = (share: number): string => `${(share * 100).toFixed(2)}%`;

/** Data quality of a window: a line saying how many checks crossed, the checks (crossed first), then the refused requests. */
export function qualityLines(quality: QualityReport): string[] {
  const crossed = quality.checks.filter((check) => check.crossed).length;
  const lines = [`data quality: ${crossed} of ${quality.checks.length} checks crossed their threshold`];
  const rows = quality.checks.map((check) => [
    check.feature,
    check.check,
    formatNumber(check.value),
    `${check.failing}/${check.rows}`,
    check.threshold ?? 'report only',
    check.crossed ? 'CROSSED' : 'ok',
  ]);
  if (rows.length > 0) lines.push(table(['FEATURE', 'CHECK', 'SHARE', 'FAILING', 'THRESHOLD', 'STATUS'], rows));
  lines.push(refusedLine(quality));
  return lines;
}

function refusedLine({ refused, requests }: QualityReport): string {
  if (refused.length === 0) return 'refused requests: none';
  const total = refused.reduce((sum, entry) => sum + entry.count, 0);
  const codes = refused.map((entry) => `${entry.code} ${entry.count} (${percent(entry.share)})`).join(', ');
  return `refused requests: ${total} of ${requests} (${codes})`;
}

/** Feature importance of a window: the ranking agreement, then each feature's share of importance against the reference's. */
export function importanceLines(importance: ImportanceReport): string[] {
  const { ndcg, features } = importance;
  const sizes = features[0] ? `, ${features[0].current_size} window predictions explained against ${features[0].reference_size} reference rows` : '';
  const agreement = ndcg ? `; ranking agreement nDCG ${formatNumber(ndcg.value)} (threshold ${ndcg.threshold}) ${ndcg.drifted ? 'DRIFT' : 'ok'}` : '';
  const rows = features.map((feature) => [
    feature.feature,
    feature.method,
    formatNumber(feature.reference_share),
    formatNumber(feature.current_share),
    formatNumber(feature.value),
    feature.threshold,
    feature.drifted ? 'DRIFT' : 'ok',
  ]);
  const lines = [`feature importance${sizes}${agreement}`];
  if (rows.length > 0) lines.push(table(['FEATURE', 'METHOD', 'REFERENCE SHARE', 'CURRENT SHARE', 'DRIFT', 'THRESHOLD', 'STATUS'], rows));
  return lines;
}

/** The per-group metrics in the order people read them; a metric the table holds beyond these follows. */
const GROUP_METRICS = ['selection_rate', 'accuracy', 'true_positive_rate', 'false_positive_rate'];

/** Fairness of a window for one attribute: a table per group (too small ones marked) and the comparisons with their thresholds. */
export function fairnessLines({ attribute, groups, comparisons }: FairnessReport): string[] {
  const found = new Set(groups.flatMap((group) => Object.keys(group.metrics)));
  const metrics = [...GROUP_METRICS.filter((metric) => found.has(metric)), ...[...found].filter((metric) => !GROUP_METRICS.includes(metric)).sort()];
  const rows = groups.map((group) => [
    group.group,
    group.predictions,
    group.labelled,
    ...metrics.map((metric) => (group.tooSmall.includes(metric) ? 'too small' : formatNumber(group.metrics[metric]) || 'n/a')),
  ]);
  const lines = [`fairness by ${attribute}:`];
  if (rows.length > 0) lines.push(table(['GROUP', 'PREDICTIONS', 'LABELLED', ...metrics.map((metric) => metric.toUpperCase())], rows));
  const compared = comparisons.map(
    (comparison) =>
      `${comparison.metric} ${comparison.value === null ? 'n/a (fewer than two groups large enough)' : formatNumber(comparison.value)}` +
      `${comparison.threshold === null ? '' : ` (threshold ${comparison.threshold})`}${comparison.flagged ? ' FLAGGED' : ''}`,
  );
  if (compared.length > 0) lines.push(`  across groups: ${compared.join(', ')}`);
  return lines;
}
