import type { ModelRegistry } from '../../../shared/ports/model-registry.port.js';
import { table } from '../../cli/format.js';
import { modelDashboardUrl } from '../dashboard/dashboard-server.js';
import type { DemoResult } from './run-demo.js';
import type { SentPrediction } from './traffic-step.js';

const accuracyOf = (labelled: SentPrediction[]) => labelled.filter((prediction) => prediction.predicted === prediction.label).length / labelled.length;

/** The demo's closing report: registry state, what the warehouse logged, drift and performance, and where to look next. */
export async function summarize(result: DemoResult, registry: ModelRegistry, dashboardUrl: string): Promise<string> {
  const { model, totals, phases } = result;
  const drifted = phases.at(-1)!.drift.monitoring;
  const [stored, versions] = await Promise.all([registry.getModel(model), registry.listVersions(model)]);
  const aliasesOf = (version: number) =>
    Object.entries(stored?.aliases ?? {})
      .filter(([, held]) => held === version)
      .map(([alias]) => alias)
      .join(', ');
  const versionRows = versions
    .slice(-5)
    .map((version) => [
      `v${version.version}`,
      aliasesOf(version.version) || '-',
      version.createdAt,
      version.metrics.auc?.toFixed(3) ?? '-',
      version.lineage.runId?.slice(0, 12) ?? '-',
    ]);
  const driftRows = drifted.features.map((row) => [
    row.feature,
    row.method,
    row.statistic.toPrecision(3),
    row.value.toPrecision(3),
    row.threshold,
    row.drifted ? 'DRIFTED' : 'ok',
    `${row.referenceSize} / ${row.currentSize}`,
  ]);
  const metric = (value: number | null | undefined) => (value === null || value === undefined ? '-' : value.toFixed(3));
  const performanceRows = phases.map((phase, index) => {
    const { performance } = phase.drift.monitoring;
    return [
      index === 0 ? 'normal' : 'drifted',
      phase.labelled.length,
      metric(performance.accuracy),
      metric(performance.roc_auc),
      metric(performance.f1),
      metric(accuracyOf(phase.labelled)),
    ];
  });
  const indent = (text: string) => text.replace(/^/gm, '  ');
  return [
    `Model ${model}: ${versions.length} version(s), latest ${versions.length > 5 ? 'five ' : ''}shown`,
    indent(table(['VERSION', 'ALIASES', 'REGISTERED', 'AUC', 'RUN'], versionRows)),
    '',
    `Predictions logged for v${totals.version} (from the warehouse): ${totals.predictions} (${totals.online} online), ${totals.labelled} with ground truth`,
    '',
    `Drift in the drifted phase, against ${drifted.reference} (p-values drift below the threshold, distances at or above):`,
    indent(table(['FEATURE', 'METHOD', 'STATISTIC', 'VALUE', 'THRESHOLD', 'STATUS', 'ROWS (REF / CURRENT)'], driftRows)),
    `  dataset: ${(drifted.datasetDrift.share * 100).toFixed(0)}% of input features drifted (threshold ${drifted.datasetDrift.threshold * 100}%)${drifted.datasetDrift.drifted ? ': DATASET DRIFT' : ''}`,
    '',
    `Performance from ground truth (the drift job's, per phase window; overall accuracy ${totals.accuracy?.toFixed(3) ?? '-'} over ${totals.labelled} labelled):`,
    indent(table(['PHASE', 'LABELLED', 'ACCURACY', 'ROC AUC', 'F1', "ACCURACY (DEMO'S OWN COUNT)"], performanceRows)),
    '',
    `Dashboard: ${modelDashboardUrl(dashboardUrl, model)}`,
  ].join('\n');
}
