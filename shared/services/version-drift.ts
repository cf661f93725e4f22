import {
  type Comparison,
  datasetSource,
  keyShapesQuery,
  keysQuery,
  type PredictionWindow,
  predictionWindowSource,
  type SampleSource,
  windowRowBase,
} from '../domain/drift/drift-queries.js';
import { DATASET_FEATURE, datasetDrift, type FeatureDrift, type SkippedFeature } from '../domain/drift/drift-result.js';
import type { DriftSettings } from '../domain/drift/methods.js';
import { isMonitorableKey, monitoringDialect } from '../domain/drift/sql-dialect.js';
import type { ModelTask } from '../domain/model-task.js';
import { type OutputLayout, outputLayout } from '../domain/monitoring/performance.js';
import { type ModelVersion, taskOf } from '../domain/registry.js';
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
/** A multiclass model's probabilities are drifted per class for at most this many classes. */
export const MAX_DRIFTED_CLASSES = 20;

/**
 * Compares the current window of a version's predictions with its reference, per input feature
 * (reference: the offline_features dataset of the version's lineage when it holds rows, else the
 * first full window after the version's first prediction) and per model output (always against that
 * launch window, since a dataset has no outputs). Outputs are read by their role in the version's task:
 * the label as categories, the score and each class's probability as numbers.
 */
export async function computeVersionDrift(
  warehouse: Warehouse,
  version: ModelVersion,
  current: PredictionWindow,
  settings: DriftSettings,
  limits: MeasureLimits = DEFAULT_LIMITS,
  reference?: VersionReference,
): Promise<VersionDrift> {
  const { launch, describe, inputs } = reference ?? (await referenceOf(warehouse, version, current));
  const skipped: SkippedFeature[] = [];
  const features: FeatureDrift[] = [];
  if (inputs) {
    const comparison = { reference: inputs, current: predictionWindowSource('current', current, 'features') };
    const measured = await measureDrift(warehouse, comparison, await featureKeys(warehouse, comparison, '', skipped), settings, limits);
    features.push(...measured.results);
    skipped.push(...measured.skipped);
  }
  if (launch) {
    const comparison = { reference: predictionWindowSource('reference', launch, 'outputs'), current: predictionWindowSource('current', current, 'outputs') };
    const task = taskOf(version);
    const keys = await outputKeys(warehouse, comparison, task, outputLayout(version.signature.outputs, task), skipped);
    const measured = await measureDrift(warehouse, comparison, keys, settings, limits);
    features.push(...measured.results);
    skipped.push(...measured.skipped);
  } else skipped.push({ feature: OUTPUT_PREFIX.slice(0, -1), reason: 'the first full window after launch has not ended yet' });
  const share = datasetDrift(features, settings.datasetDriftShare);
  return {
    reference: describe,
    features,
    skipped,
    dataset: { share: share.value, threshold: settings.datasetDriftShare, drifted: share.drifted },
  };
}

/** What a version's window is compared with, for its inputs and its outputs. */
export interface VersionReference {
  /** `dataset:<id>`, `window:<start>/<end>`, or `none` when there is nothing to compare with yet. */
  describe: string;
  /** The reference's input features, as a sample whose `doc` column is a features JSON; undefined while there is none. */
  inputs?: SampleSource;
  /** The first full window after the version's first prediction, once it has ended: the reference for outputs. */
  launch?: PredictionWindow;
  /** The offline_features dataset of the version's lineage, when it holds rows. */
  dataset?: string;
}

/**
 * The reference of a version's current window: for inputs, the offline_features dataset of its lineage
 * when it holds rows, else the first full window after its first prediction; for outputs, always that
 * launch window, since a dataset has no outputs.
 */
export async function referenceOf(warehouse: Warehouse, version: ModelVersion, current: PredictionWindow): Promise<VersionReference> {
  const launch = await launchWindow(warehouse, current);
  const dataset = version.lineage.datasetId && (await datasetHasRows(warehouse, version.lineage.datasetId)) ? version.lineage.datasetId : undefined;
  const inputs = dataset ? datasetSource(dataset) : launch && predictionWindowSource('reference', launch, 'features');
  const describe = dataset ? `dataset:${dataset}` : launch ? `window:${launch.start.toISOString()}/${launch.end.toISOString()}` : 'none';
  return { describe, ...(inputs ? { inputs } : {}), ...(launch ? { launch } : {}), ...(dataset ? { dataset } : {}) };
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

/**
 * The output features of a comparison: the label (categorical), the score, and the probability of each
 * class (a binary model's positive class only; at most MAX_DRIFTED_CLASSES), as `outputs.<output>.<class>`;
 * other scalar outputs as they are. An object or array output with no role is skipped.
 */
async function outputKeys(
  warehouse: Warehouse,
  comparison: Comparison,
  task: ModelTask,
  layout: OutputLayout,
  skipped: SkippedFeature[],
): Promise<FeatureKey[]> {
  const dialect = monitoringDialect(warehouse.dialect);
  const nested = new Map<string, boolean>();
  for (const source of [comparison.reference, comparison.current]) {
    const query = keyShapesQuery(dialect, source);
    for (const row of await warehouse.query<{ key: string; nested: number }>(query.sql, query.params))
      nested.set(row.key, (nested.get(row.key) ?? false) || Number(row.nested) === 1);
  }
  const features: FeatureKey[] = [];
  for (const key of [...nested.keys()].sort()) {
    const name = OUTPUT_PREFIX + key;
    if (!isMonitorableKey(key)) skipped.push({ feature: name, reason: 'name is not monitorable (letters, digits, _ - : only)' });
    else if (key === task.probabilities && task.kind !== 'regression' && task.kind !== 'other')
      features.push(...classProbabilities(task, key, layout, skipped));
    else if (nested.get(key))
      skipped.push({ feature: name, reason: 'an object or array output with no role in the task; declare it with an output.<role> tag to drift it' });
    else features.push({ key, name, ...(key === task.label ? { kind: 'categorical' as const } : {}) });
  }
  return features;
}

/** One numeric feature per class of the probabilities output, read by class label (keyed) or column index (array). */
function classProbabilities(task: ModelTask, output: string, { keyedProbabilities }: OutputLayout, skipped: SkippedFeature[]): FeatureKey[] {
  const name = OUTPUT_PREFIX + output;
  if (!task.classes) {
    skipped.push({ feature: name, reason: 'the class of each probability is unknown (declare it with the classes tag)' });
    return [];
  }
  const indexed = task.classes.map((label, index) => ({ label, index }));
  const chosen = task.kind === 'binary' ? indexed.slice(1, 2) : indexed.slice(0, MAX_DRIFTED_CLASSES);
  if (chosen.length < indexed.length && task.kind !== 'binary')
    skipped.push({ feature: name, reason: `${indexed.length} classes: only the first ${MAX_DRIFTED_CLASSES} are drifted` });
  const features: FeatureKey[] = [];
  for (const { label, index } of chosen) {
    const feature = `${name}.${label}`;
    if (keyedProbabilities && !isMonitorableKey(label))
      skipped.push({ feature, reason: 'the output is keyed by class and this class label cannot be named in a JSONPath (letters, digits, _ - : only)' });
    else features.push({ key: [output, keyedProbabilities ? label : index], name: feature });
  }
  return features;
}

/** The drift_metrics rows of a version's window, the dataset row included. */
export function driftRows(drift: VersionDrift, window: PredictionWindow, computedAt: string): Record<string, unknown>[] {
  const base = windowRowBase(window, computedAt);
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
