import { NAN_LIKE_TEXTS } from '../domain/quality/quality-settings.js';
import { type PredictionWindow, predictionWindowSource, windowRowBase } from '../domain/drift/drift-queries.js';
import type { Observation } from '../domain/drift/alert-state.js';
import { DATASET_FEATURE, type SkippedFeature } from '../domain/drift/drift-result.js';
import { isPlatformError } from '../domain/errors.js';
import {
  type AttributionDrift,
  type AttributionSettings,
  attributionDrift,
  type FeatureAttributionDrift,
  NDCG_METHOD,
  SHARE_METHOD,
} from '../domain/explain/attribution-drift.js';
import { ALERT_PREFIX, type FamilyOutcome } from '../domain/monitoring/family.js';
import type { ModelVersion } from '../domain/registry.js';
import type { ArtifactStore } from '../ports/artifact-store.port.js';
import type { LoadedModel, ModelRunner } from '../ports/model-runner.port.js';
import type { Warehouse } from '../ports/warehouse.port.js';
import { type FeatureRow, sampleFeatureRows, writeBackground } from './explanation-background.js';
import type { ExplainMethod, ExplainOptions, Explainer, Explanation } from './explainer.js';
import { fetchVerified } from './serving-model.js';
import type { VersionReference } from './version-drift.js';

/** What attribution monitoring works with. */
export interface AttributionDependencies {
  warehouse: Warehouse;
  /** Where the version's background is stored for /explain. */
  artifacts: ArtifactStore;
  explainer: Explainer;
}

/** The attribution drift of one version's window, for the run's outcome. */
export interface AttributionSummary {
  /** The reference's `describe`: `dataset:<id>`, `window:<start>/<end>` or `none`. */
  reference: string;
  method: ExplainMethod;
  /** Rows explained on each side. */
  referenceSize: number;
  currentSize: number;
  features: FeatureAttributionDrift[];
  /** The ranking's agreement; undefined when nothing was measured. */
  ndcg?: AttributionDrift['ndcg'];
}

/** The family's name in `skipped` when the whole measurement is skipped. */
const FAMILY = 'attribution';

/**
 * Feature importance of a version's window against its reference: one sampling query over the
 * window (a deterministic sample of `settings.sample` predictions), the reference sampled the same
 * way, both explained against the version's background (drawn from the reference and stored for
 * /explain), then mean |attribution| per feature and side, shares, drift and nDCG. Rows that the
 * model refuses are left out and counted in `skipped`; no reference or no predictions yet → no rows.
 */
export async function measureAttributionDrift(
  { warehouse, artifacts, explainer }: AttributionDependencies,
  version: ModelVersion,
  window: PredictionWindow,
  reference: VersionReference,
  settings: AttributionSettings,
  computedAt: string,
): Promise<FamilyOutcome<AttributionSummary>> {
  const summary: AttributionSummary = { reference: reference.describe, method: explainer.method, referenceSize: 0, currentSize: 0, features: [] };
  const nothing = (reason: string) => ({ rows: [], observations: [], summary, skipped: [{ feature: FAMILY, reason }] });
  if (!reference.inputs) return nothing('no reference yet: the first full window after launch has not ended and the lineage names no dataset with rows');
  const current = await sampleFeatureRows(warehouse, predictionWindowSource('current', window, 'features'), settings.sample);
  if (current.length === 0) return nothing('no predictions in the window');
  const stored = await writeBackground(warehouse, artifacts, version, reference);
  if (!stored) return nothing(`the reference ${reference.describe} holds no feature rows`);
  const skipped: SkippedFeature[] = [];
  const explaining: Explaining = { explainer, background: stored.background.rows, options: { samples: settings.permutations } };
  const referenceExplained = await explainValid(explaining, await sampleFeatureRows(warehouse, reference.inputs, settings.sample), 'reference', skipped);
  const currentExplained = await explainValid(explaining, current, 'window', skipped);
  if (referenceExplained.length === 0 || currentExplained.length === 0) return { ...nothing('no row of one side could be explained'), skipped };
  const drift = attributionDrift(explainer.features, referenceExplained, currentExplained, settings);
  const sizes = { referenceSize: referenceExplained.length, currentSize: currentExplained.length };
  return {
    rows: attributionRows(drift, explainer.method, sizes, window, computedAt),
    observations: observationsOf(drift),
    summary: { ...summary, ...sizes, features: drift.features, ndcg: drift.ndcg },
    skipped,
  };
}

/** An explainer with the background and options of one run. */
interface Explaining {
  explainer: Explainer;
  background: FeatureRow[];
  options: ExplainOptions;
}

/**
 * Explains the rows in one batch; when the model refuses the batch (a row it cannot take), row by
 * row, leaving out the refused ones and saying how many in `skipped`. Other failures propagate.
 */
async function explainValid(
  { explainer, background, options }: Explaining,
  rows: FeatureRow[],
  side: string,
  skipped: SkippedFeature[],
): Promise<Explanation[]> {
  // A row missing a feature has no attribution for it (NaN through the model): it is left out and counted.
  const complete = rows.filter((row) => explainer.features.every((feature) => !isMissing(row[feature])));
  if (complete.length < rows.length)
    skipped.push({ feature: FAMILY, reason: `${rows.length - complete.length} of ${rows.length} ${side} rows miss a feature value and were not explained` });
  // As arrays in the explainer's feature order: /predict takes a flat instance whatever the model's inputs.
  const instances = complete.map((row) => explainer.features.map((feature) => row[feature]));
  if (instances.length === 0) return [];
  try {
    return await explainer.explain(instances, background, options);
  } catch (error) {
    if (!isRefusal(error)) throw error;
  }
  const explained: Explanation[] = [];
  let firstRefusal: string | undefined;
  for (const instance of instances) {
    try {
      explained.push(...(await explainer.explain([instance], background, options)));
    } catch (error) {
      if (!isRefusal(error)) throw error;
      firstRefusal ??= error.message;
    }
  }
  skipped.push({
    feature: FAMILY,
    reason: `${instances.length - explained.length} of ${instances.length} ${side} rows were refused by the model (first: ${firstRefusal})`,
  });
  return explained;
}

/** Absent, null, or a NaN-like text, as data quality counts a missing value. */
const isMissing = (value: unknown): boolean => value === undefined || value === null || (typeof value === 'string' && NAN_LIKE_TEXTS.includes(value));

function isRefusal(error: unknown): error is Error {
  return isPlatformError(error, 'MODEL.INVALID_INPUT', 'REQUEST.INVALID');
}

/** The feature_attributions rows of a window: one per feature, and the ranking as `__dataset__`. */
export function attributionRows(
  drift: AttributionDrift,
  method: ExplainMethod,
  { referenceSize, currentSize }: { referenceSize: number; currentSize: number },
  window: PredictionWindow,
  computedAt: string,
): Record<string, unknown>[] {
  const base = {
    ...windowRowBase(window, computedAt),
    reference_size: referenceSize,
    current_size: currentSize,
  };
  const rows: Record<string, unknown>[] = drift.features.map((feature) => ({
    ...base,
    feature: feature.feature,
    method,
    reference_importance: feature.referenceImportance,
    current_importance: feature.currentImportance,
    reference_share: feature.referenceShare,
    current_share: feature.currentShare,
    value: feature.value,
    threshold: feature.threshold,
    drifted: feature.drifted,
  }));
  rows.push({ ...base, feature: DATASET_FEATURE, method: NDCG_METHOD, value: drift.ndcg.value, threshold: drift.ndcg.threshold, drifted: drift.ndcg.drifted });
  return rows;
}

/** What the alert state observes: `attribution:<feature>` per feature and `attribution:__dataset__` for the ranking. */
function observationsOf(drift: AttributionDrift): Observation[] {
  const observations: Observation[] = drift.features.map(({ feature, value, threshold, drifted }) => ({
    feature: ALERT_PREFIX.attribution + feature,
    method: SHARE_METHOD,
    value,
    threshold,
    drifted,
  }));
  observations.push({ feature: ALERT_PREFIX.attribution + DATASET_FEATURE, method: NDCG_METHOD, ...drift.ndcg });
  return observations;
}

/** A version's model for the monitoring job: its verified file (from the cache when present) and the loaded session the explainer runs. */
export async function loadMonitoredModel(
  version: ModelVersion,
  { artifacts, runner, cacheDir }: { artifacts: ArtifactStore; runner: ModelRunner; cacheDir: string },
): Promise<{ loaded: LoadedModel; bytes: Uint8Array }> {
  const bytes = await fetchVerified(version, { artifacts, cacheDir });
  return { loaded: await runner.load(bytes), bytes };
}
