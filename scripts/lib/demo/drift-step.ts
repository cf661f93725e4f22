import type { DriftComputed, VersionMonitoring } from '../../../shared/domain/monitoring-events.js';
import type { DriftPoint } from '../dashboard/dashboard-queries.js';
import { type Cli, check, getJson, mlopsOk } from './checks.js';

/** What one run of the drift job found for the demo's version, checked against what the demo did. */
export interface DriftOutcome {
  monitoring: VersionMonitoring;
  /** The drift_metrics rows the run wrote for the window, as the warehouse holds them. */
  rows: DriftPoint[];
  drifted: string[];
}

/** The drift job over one window, and what it must find there. */
export interface DriftCheck {
  model: string;
  version: number;
  start: Date;
  end: Date;
  /** The offline_features dataset the version names as its reference. */
  reference: string;
  /** Exactly the input features that must be flagged. */
  expectDrifted: string[];
  dashboardUrl: string;
}

/**
 * Runs the drift job (`mlops drift run`, which publishes on monitor-schedule and waits for the
 * compute-drift function's result) over exactly [start, end), then checks that it compared with
 * the training dataset, flagged exactly the expected input features, and wrote its rows.
 */
export async function runDrift(cli: Cli, { model, version, start, end, reference, expectDrifted, dashboardUrl }: DriftCheck): Promise<DriftOutcome> {
  const hours = (end.getTime() - start.getTime()) / 3_600_000;
  const output = await mlopsOk(cli, 'drift', 'run', '--model', model, '--window-end', end.toISOString(), '--window-hours', String(hours), '--json');
  const computed = JSON.parse(output) as DriftComputed;
  check(computed.status === 'succeeded', `The drift job failed: ${computed.error ?? 'no reason given'}.`);
  const monitoring = computed.versions.find((entry) => entry.version === version);
  check(
    monitoring,
    `The drift job did not monitor ${model} v${version} (it covered ${computed.versions.map((entry) => `v${entry.version}`).join(', ') || 'nothing'}).`,
  );
  check(monitoring.reference === `dataset:${reference}`, `The drift job compared with ${monitoring.reference}, not the training dataset ${reference}.`);
  const drifted = monitoring.features
    .filter((feature) => feature.drifted && isInputFeature(feature.feature))
    .map((feature) => feature.feature)
    .sort();
  check(
    JSON.stringify(drifted) === JSON.stringify([...expectDrifted].sort()),
    `The drift job flagged [${drifted.join(', ')}]; the demo shifted [${expectDrifted.join(', ')}].`,
  );
  const stored = await getJson<DriftPoint[]>(`${dashboardUrl}/api/models/${encodeURIComponent(model)}/drift`);
  const rows = stored.filter((row) => row.version === version && Date.parse(row.windowEnd) === Date.parse(computed.windowEnd));
  check(
    rows.filter((row) => isInputFeature(row.feature)).length === monitoring.features.filter((feature) => isInputFeature(feature.feature)).length,
    `drift_metrics holds ${rows.length} rows for the window; the job reported ${monitoring.features.length} features.`,
  );
  return { monitoring, rows, drifted };
}

/** Input features, not model outputs (`outputs.*`) or the whole-dataset row (`__dataset__`). */
export function isInputFeature(feature: string): boolean {
  return !feature.startsWith('outputs.') && !feature.startsWith('__');
}
