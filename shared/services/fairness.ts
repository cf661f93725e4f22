import { type PredictionWindow, windowRowBase } from '../domain/drift/drift-queries.js';
import type { SkippedFeature } from '../domain/drift/drift-result.js';
import { monitoringDialect } from '../domain/drift/sql-dialect.js';
import { PlatformError } from '../domain/errors.js';
import { type GroupCountsRow, groupCountsOf, groupCountsQuery, MAX_GROUPS } from '../domain/fairness/fairness-query.js';
import { ALL_GROUPS, type AttributeFairness, attributeFairness, fairnessObservation } from '../domain/fairness/metrics.js';
import type { FairnessPrediction, FairnessSettings } from '../domain/fairness/settings.js';
import { ALERT_PREFIX, type FamilyOutcome } from '../domain/monitoring/family.js';
import type { ModelVersion } from '../domain/registry.js';
import type { Warehouse } from '../ports/warehouse.port.js';

/** What fairness found for one version and window: per attribute, its groups and comparisons. */
export interface FairnessSummary {
  /** The positive class the selection rate and the rates count; absent when the model's task gives none. */
  positive?: string;
  attributes: AttributeFairness[];
}

/**
 * Fairness of a version's window per sensitive attribute: one pass per attribute over the window's
 * predictions joined to their ground truth, counting per group; the metrics follow from the counts.
 * Throws MONITORING.FAILED when the window is not of `version`.
 */
export async function measureFairness(
  warehouse: Warehouse,
  version: Pick<ModelVersion, 'model' | 'version'>,
  window: PredictionWindow,
  settings: FairnessSettings,
  computedAt: string,
): Promise<FamilyOutcome<FairnessSummary>> {
  if (window.model !== version.model || window.version !== version.version)
    throw new PlatformError(
      'MONITORING.FAILED',
      `Fairness of ${version.model} v${version.version} was asked over a window of ${window.model} v${window.version}.`,
    );
  const outcome: FamilyOutcome<FairnessSummary> = {
    rows: [],
    observations: [],
    summary: { attributes: [], ...(settings.prediction ? { positive: settings.prediction.positive } : {}) },
    skipped: [...settings.skipped],
  };
  if (!settings.prediction) return outcome;
  for (const attribute of settings.attributes) {
    const measured = await measureAttribute(warehouse, window, attribute, settings, settings.prediction);
    if ('reason' in measured) outcome.skipped.push(measured);
    else addAttribute(outcome, measured, window, computedAt);
  }
  return outcome;
}

async function measureAttribute(
  warehouse: Warehouse,
  window: PredictionWindow,
  attribute: string,
  settings: FairnessSettings,
  prediction: FairnessPrediction,
): Promise<AttributeFairness | SkippedFeature> {
  const query = groupCountsQuery(monitoringDialect(warehouse.dialect), window, attribute, prediction);
  const rows = await warehouse.query<GroupCountsRow>(query.sql, query.params);
  const grouped = rows.filter((row) => row.group_value !== null && row.group_value !== undefined);
  const ungrouped = Number(rows.find((row) => row.group_value === null || row.group_value === undefined)?.predictions ?? 0);
  if (grouped.length > MAX_GROUPS)
    return {
      feature: `${ALERT_PREFIX.fairness}${attribute}`,
      reason: `'${attribute}' takes more than ${MAX_GROUPS} values in the window: fairness compares the groups of a categorical attribute`,
    };
  if (grouped.length === 0)
    return {
      feature: `${ALERT_PREFIX.fairness}${attribute}`,
      reason: `no prediction of the window has a value for '${attribute}' in its features or its ground truth's attributes`,
    };
  return attributeFairness(attribute, grouped.map(groupCountsOf), ungrouped, settings.thresholds);
}

function addAttribute(outcome: FamilyOutcome<FairnessSummary>, fairness: AttributeFairness, window: PredictionWindow, computedAt: string): void {
  outcome.summary.attributes.push(fairness);
  outcome.rows.push(...fairnessRows(fairness, window, computedAt));
  const observation = fairnessObservation(fairness);
  if (observation) outcome.observations.push(observation);
}

/** fairness_metrics rows: one per group and metric, and one per comparison on group __all__. */
export function fairnessRows(fairness: AttributeFairness, window: PredictionWindow, computedAt: string): Record<string, unknown>[] {
  const common = { ...windowRowBase(window, computedAt), attribute: fairness.attribute };
  const perGroup = fairness.groups.flatMap((group) =>
    group.metrics.map((entry) => ({
      ...common,
      group_value: group.group,
      metric: entry.metric,
      value: entry.value,
      predictions: group.predictions,
      labelled: group.labelled,
      threshold: null,
      flagged: false,
      too_small: entry.tooSmall,
    })),
  );
  const comparisons = fairness.comparisons.map((entry) => ({
    ...common,
    group_value: ALL_GROUPS,
    metric: entry.metric,
    value: entry.value,
    predictions: entry.predictions,
    labelled: entry.labelled,
    threshold: entry.threshold,
    flagged: entry.flagged,
    too_small: entry.groups.length < 2,
  }));
  return [...perGroup, ...comparisons];
}
