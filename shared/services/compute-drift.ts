import { type Comparison, datasetSource, keysQuery, type PredictionWindow, predictionWindowSource, type SampleSource } from '../domain/drift/drift-queries.js';
import { DATASET_FEATURE, datasetDrift, type FeatureDrift, type SkippedFeature } from '../domain/drift/drift-result.js';
import type { DriftSettings } from '../domain/drift/methods.js';
import { isMonitorableKey, monitoringDialect } from '../domain/drift/sql-dialect.js';
import type { ModelVersion } from '../domain/registry.js';
import type { Warehouse } from '../ports/warehouse.port.js';
import { DEFAULT_LIMITS, type FeatureKey, type MeasureLimits, measureDrift } from './drift-measures.js';

/** The drift of one version in one window. */
export interface VersionDrift {
  /** `dataset:<id>`, `window:<start>/<end>`, or `none` when there is nothing to compare with yet. */
  reference: string;
  features: FeatureDrift[];
  skipped: SkippedFeature[];
  dataset: { share: number; threshold: number; drifted: boolean };
}

const OUTPUT_PREFIX = 'outputs.';

/**
 * Compares the current window of a version's predictions with its reference, per input feature
 * (reference: the offline_features dataset of the version's lineage when it holds rows, else the
 * first full window after the version's first prediction) and per model output (always against that
 * launch window, since a dataset has no outputs).
 */
export async function computeVersionDrift(
  warehouse: Warehouse,
  version: ModelVersion,
  current: PredictionWindow,
  settings: DriftSettings,
  limits: MeasureLimits = DEFAULT_LIMITS,
): Promise<VersionDrift> {
  const launch = await launchWindow(warehouse, current);
  const dataset = version.lineage.datasetId && (await datasetHasRows(warehouse, version.lineage.datasetId)) ? version.lineage.datasetId : undefined;
  const describeLaunch = launch ? `window:${launch.start.toISOString()}/${launch.end.toISOString()}` : 'none';
  const skipped: SkippedFeature[] = [];
  const features: FeatureDrift[] = [];
  const inputs = dataset ? datasetSource(dataset) : launch && predictionWindowSource('reference', launch, 'features');
  if (inputs) {
    const comparison = { reference: inputs, current: predictionWindowSource('current', current, 'features') };
    const measured = await measureDrift(warehouse, comparison, await featureKeys(warehouse, comparison, '', skipped), settings, limits);
    features.push(...measured.results);
    skipped.push(...measured.skipped);
  }
  if (launch) {
    const comparison = { reference: predictionWindowSource('reference', launch, 'outputs'), current: predictionWindowSource('current', current, 'outputs') };
    const measured = await measureDrift(warehouse, comparison, await featureKeys(warehouse, comparison, OUTPUT_PREFIX, skipped), settings, limits);
    features.push(...measured.results);
    skipped.push(...measured.skipped);
  } else skipped.push({ feature: OUTPUT_PREFIX.slice(0, -1), reason: 'the first full window after launch has not ended yet' });
  const share = datasetDrift(features, settings.datasetDriftShare);
  return {
    reference: dataset ? `dataset:${dataset}` : describeLaunch,
    features,
    skipped,
    dataset: { share: share.value, threshold: settings.datasetDriftShare, drifted: share.drifted },
  };
}

/** The first full window after the version's first prediction, if it has ended by the end of the current window. */
async function launchWindow(warehouse: Warehouse, current: PredictionWindow): Promise<PredictionWindow | undefined> {
  const [row] = await warehouse.query<{ first: string | null }>(
    'SELECT MIN(request_time) AS first FROM {{predictions}} WHERE model = @model AND version = @version',
    {
      model: current.model,
      version: current.version,
    },
  );
  if (!row?.first) return undefined;
  const start = new Date(row.first);
  const end = new Date(start.getTime() + (current.end.getTime() - current.start.getTime()));
  return end <= current.end ? { model: current.model, version: current.version, start, end } : undefined;
}

async function datasetHasRows(warehouse: Warehouse, dataset: string): Promise<boolean> {
  const rows = await warehouse.query('SELECT 1 AS present FROM {{offline_features}} WHERE dataset_id = @dataset LIMIT 1', { dataset });
  return rows.length > 0;
}

/** Keys seen in a sample of either side; names that cannot be put in a JSONPath safely are skipped. */
async function featureKeys(warehouse: Warehouse, comparison: Comparison, prefix: string, skipped: SkippedFeature[]): Promise<FeatureKey[]> {
  const dialect = monitoringDialect(warehouse.dialect);
  const keysOf = async (source: SampleSource) => {
    const query = keysQuery(dialect, source);
    return (await warehouse.query<{ key: string }>(query.sql, query.params)).map((row) => row.key);
  };
  const keys = [...new Set([...(await keysOf(comparison.reference)), ...(await keysOf(comparison.current))])].sort();
  for (const key of keys.filter((candidate) => !isMonitorableKey(candidate)))
    skipped.push({ feature: prefix + key, reason: 'name is not monitorable (letters, digits, _ - : only)' });
  return keys.filter(isMonitorableKey).map((key) => ({ key, name: prefix + key }));
}

/** The drift_metrics rows of a version's window, the dataset row included. */
export function driftRows(drift: VersionDrift, window: PredictionWindow, computedAt: string): Record<string, unknown>[] {
  const base = {
    model: window.model,
    version: window.version,
    window_start: window.start.toISOString(),
    window_end: window.end.toISOString(),
    computed_at: computedAt,
  };
  const rows: Record<string, unknown>[] = drift.features.map((feature) => ({
    ...base,
    feature: feature.feature,
    method: feature.method,
    value: feature.value,
    threshold: feature.threshold,
    drifted: feature.drifted,
    reference_size: feature.referenceSize,
    current_size: feature.currentSize,
  }));
  const inputs = drift.features.filter((feature) => !feature.feature.startsWith(OUTPUT_PREFIX));
  if (inputs.length === 0) return rows;
  const size = (pick: (feature: FeatureDrift) => number) => Math.max(...inputs.map(pick));
  rows.push({
    ...base,
    feature: DATASET_FEATURE,
    method: 'share_drifted',
    value: drift.dataset.share,
    threshold: drift.dataset.threshold,
    drifted: drift.dataset.drifted,
    reference_size: size((feature) => feature.referenceSize),
    current_size: size((feature) => feature.currentSize),
  });
  return rows;
}
