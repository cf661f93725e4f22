import { type AlertState, nextAlertStates, type Observation } from '../domain/drift/alert-state.js';
import { type PredictionWindow, windowSlice } from '../domain/drift/drift-queries.js';
import { DATASET_FEATURE, DATASET_METHOD } from '../domain/drift/drift-result.js';
import { driftSettingsFromTags } from '../domain/drift/methods.js';
import { PlatformError } from '../domain/errors.js';
import type { DriftAlert, VersionMonitoring } from '../domain/monitoring-events.js';
import { outputLayout } from '../domain/monitoring/performance.js';
import { type Model, taskOf } from '../domain/registry.js';
import { TOPICS } from '../domain/topics.js';
import { type Clock, systemClock } from '../ports/clock.port.js';
import type { EventBus } from '../ports/event-bus.port.js';
import type { ModelRegistry } from '../ports/model-registry.port.js';
import type { Warehouse } from '../ports/warehouse.port.js';
import type { ArtifactStore } from '../ports/artifact-store.port.js';
import type { ModelRunner } from '../ports/model-runner.port.js';
import type { SkippedFeature } from '../domain/drift/drift-result.js';
import { attributionSettingsFromTags } from '../domain/explain/attribution-drift.js';
import { fairnessSettingsFromTags } from '../domain/fairness/settings.js';
import type { FamilyOutcome } from '../domain/monitoring/family.js';
import { qualitySettingsFromTags } from '../domain/quality/quality-settings.js';
import { isPlatformError } from '../domain/errors.js';
import type { ModelVersion } from '../domain/registry.js';
import { type AttributionSummary, loadMonitoredModel, measureAttributionDrift } from './attribution-drift.js';
import { measureDataQuality } from './data-quality.js';
import type { MeasureLimits } from './drift-measures.js';
import { createExplainer } from './explainer.js';
import { measureFairness } from './fairness.js';
import { measurePerformance, performanceRows } from './model-performance.js';
import { healthRow, measureHealth } from './service-health.js';
import { computeVersionDrift, driftRows, referenceOf, type VersionDrift, type VersionReference } from './version-drift.js';
import { reportLink, writeModelReport } from './write-reports.js';

/** What a monitoring run works with. */
export interface MonitoringDependencies {
  registry: ModelRegistry;
  warehouse: Warehouse;
  bus: EventBus;
  clock?: Clock;
  limits?: MeasureLimits;
  /** Where the versions' model files come from, to explain predictions; without it attributions are skipped. */
  models?: { artifacts: ArtifactStore; runner: ModelRunner; cacheDir: string };
  /** Where the report of a model whose run opened alerts is written, and the dashboard its link opens in (else GCS's); without it alerts carry no link. */
  reports?: { artifacts: ArtifactStore; dashboardUrl?: string };
}

/** Which versions and window a run covers. */
export interface MonitoringRunOptions {
  /** Only this model; otherwise every model with at least one alias. */
  model?: string;
  windowHours: number;
  windowEnd: Date;
}

/** The outcome of a run. */
export interface MonitoringReport {
  windowStart: string;
  windowEnd: string;
  versions: VersionMonitoring[];
}

/**
 * Monitors every model version that holds an alias over one window: drift against its reference,
 * performance from ground truth and service health. Results replace the window's earlier rows, so
 * a re-run or a redelivered request writes them once; a feature that starts drifting publishes one
 * alert on drift-alerts, and another only after it recovered.
 */
export async function runMonitoring(deps: MonitoringDependencies, { model, windowHours, windowEnd }: MonitoringRunOptions): Promise<MonitoringReport> {
  const start = new Date(windowEnd.getTime() - windowHours * 3_600_000);
  const models = model ? [await requireModel(deps.registry, model)] : await deps.registry.listModels();
  const versions: VersionMonitoring[] = [];
  for (const found of models.sort((a, b) => a.name.localeCompare(b.name))) {
    const monitored: VersionMonitoring[] = [];
    for (const [version, aliases] of aliasedVersions(found)) {
      monitored.push(await monitorVersion(deps, found, aliases, { model: found.name, version, start, end: windowEnd }));
    }
    // The report an alert links to was written before the alert went out; written again, it shows every version and alert of the run.
    if (monitored.some((entry) => entry.alertsOpened.length > 0)) await linkedReport(deps, found.name, { start, end: windowEnd });
    versions.push(...monitored);
  }
  return { windowStart: start.toISOString(), windowEnd: windowEnd.toISOString(), versions };
}

async function requireModel(registry: ModelRegistry, name: string): Promise<Model> {
  const found = await registry.getModel(name);
  if (!found) throw new PlatformError('REGISTRY.MODEL_NOT_FOUND', `No model named "${name}" to monitor.`);
  return found;
}

/** Versions holding an alias, each with its aliases, oldest version first. */
function aliasedVersions(model: Model): [number, string[]][] {
  const byVersion = new Map<number, string[]>();
  for (const [alias, version] of Object.entries(model.aliases)) byVersion.set(version, [...(byVersion.get(version) ?? []), alias].sort());
  return [...byVersion.entries()].sort(([a], [b]) => a - b);
}

async function monitorVersion(deps: MonitoringDependencies, model: Model, aliases: string[], window: PredictionWindow): Promise<VersionMonitoring> {
  const { registry, warehouse, clock = systemClock } = deps;
  const version = await registry.getVersion(window.model, window.version);
  if (!version) throw new PlatformError('REGISTRY.VERSION_NOT_FOUND', `Model "${window.model}" has no version ${window.version}.`, { permanent: false });
  const tags = { ...model.tags, ...version.tags };
  const settings = driftSettingsFromTags(tags);
  const reference = await referenceOf(warehouse, version, window);
  const drift = await computeVersionDrift(warehouse, version, window, settings, deps.limits, reference);
  const task = taskOf(version);
  const performance = await measurePerformance(warehouse, window, task, outputLayout(version.signature.outputs, task));
  const health = await measureHealth(warehouse, window);
  const computedAt = clock.now().toISOString();
  const families = await measureFamilies(deps, version, tags, window, reference, computedAt);
  const slice = windowSlice(window);
  await warehouse.replace('drift_metrics', slice, driftRows(drift, window, computedAt));
  await warehouse.replace('model_performance', slice, performanceRows(performance, window, computedAt));
  await warehouse.replace('service_health', slice, [healthRow(health, window, computedAt)]);
  await warehouse.replace('data_quality', slice, families.quality.rows);
  await warehouse.replace('feature_attributions', slice, families.attributions?.rows ?? []);
  await warehouse.replace('fairness_metrics', slice, families.fairness?.rows ?? []);
  const alerts = await updateAlerts(deps, drift, families.observations, window, computedAt);
  const { error_rate, ...healthNumbers } = health;
  return {
    model: window.model,
    version: window.version,
    aliases,
    reference: drift.reference,
    features: drift.features,
    skipped: [...drift.skipped, ...families.skipped],
    datasetDrift: drift.dataset,
    performance: { predictions: performance.predictions, labelled: performance.labelled, ...performance.metrics },
    health: { ...healthNumbers, error_rate },
    quality: families.quality.summary,
    ...(families.attributions ? { attributions: families.attributions.summary } : {}),
    ...(families.fairness ? { fairness: families.fairness.summary } : {}),
    alertsOpened: alerts.opened,
    alertsResolved: alerts.resolved,
    problems: [...settings.problems, ...families.problems],
  };
}

/** Data quality, feature attributions and fairness of one version's window, with what they observed for the alerts. */
async function measureFamilies(
  deps: MonitoringDependencies,
  version: ModelVersion,
  tags: Record<string, string>,
  window: PredictionWindow,
  reference: VersionReference,
  computedAt: string,
) {
  const { warehouse } = deps;
  const quality = qualitySettingsFromTags(tags);
  const attribution = attributionSettingsFromTags(tags);
  const fairness = fairnessSettingsFromTags(tags, taskOf(version));
  const measured = {
    quality: await measureDataQuality(warehouse, window, reference, quality.settings, computedAt, deps.limits),
    attributions: await explainWindow(deps, version, window, reference, attribution.settings, computedAt),
    fairness: fairness.settings ? await measureFairness(warehouse, version, window, fairness.settings, computedAt) : undefined,
  };
  const attributions = 'rows' in measured.attributions ? measured.attributions : undefined;
  const all = [measured.quality, attributions, measured.fairness].filter((outcome) => outcome !== undefined);
  return {
    quality: measured.quality,
    attributions,
    fairness: measured.fairness,
    observations: all.flatMap((outcome): Observation[] => outcome.observations),
    skipped: [...all.flatMap((outcome): SkippedFeature[] => outcome.skipped), ...(attributions ? [] : [measured.attributions as SkippedFeature])],
    problems: [...quality.problems, ...attribution.problems, ...fairness.problems],
  };
}

/** Codes that mean a version's predictions cannot be explained (its file, or its outputs), which skip attributions rather than fail the run. */
const UNEXPLAINABLE = new Set(['EXPLAIN.UNSUPPORTED', 'ARTIFACT.NOT_FOUND', 'ARTIFACT.INTEGRITY', 'MODEL.LOAD_FAILED']);

/** The window's feature attributions, from the version's own model; skipped when the run has no model files or the model cannot be explained. */
async function explainWindow(
  deps: MonitoringDependencies,
  version: ModelVersion,
  window: PredictionWindow,
  reference: VersionReference,
  settings: ReturnType<typeof attributionSettingsFromTags>['settings'],
  computedAt: string,
): Promise<FamilyOutcome<AttributionSummary> | SkippedFeature> {
  if (!deps.models) return { feature: 'attribution', reason: 'this run has no access to model files' };
  let model: Awaited<ReturnType<typeof loadMonitoredModel>> | undefined;
  try {
    model = await loadMonitoredModel(version, deps.models);
    const explainer = createExplainer(model.loaded, version, model.bytes);
    return await measureAttributionDrift(
      { warehouse: deps.warehouse, artifacts: deps.models.artifacts, explainer },
      version,
      window,
      reference,
      settings,
      computedAt,
    );
  } catch (error) {
    if (isPlatformError(error) && UNEXPLAINABLE.has(error.code)) return { feature: 'attribution', reason: error.message };
    throw error;
  } finally {
    await model?.loaded.close();
  }
}

/** What a run observed, per feature and for the dataset, in the form the alert state takes. */
function observationsOf(drift: VersionDrift): Observation[] {
  const observations: Observation[] = drift.features.map(({ feature, method, value, threshold, drifted }) => ({ feature, method, value, threshold, drifted }));
  if (drift.features.some((feature) => !feature.feature.startsWith('outputs.'))) {
    observations.push({
      feature: DATASET_FEATURE,
      method: DATASET_METHOD,
      value: drift.dataset.share,
      threshold: drift.dataset.threshold,
      drifted: drift.dataset.drifted,
    });
  }
  return observations;
}

/**
 * Moves the version's alert state and publishes the alerts that opened. Publishing comes before the
 * state is written: a failure in between sends an alert twice rather than never.
 */
async function updateAlerts(deps: MonitoringDependencies, drift: VersionDrift, families: Observation[], window: PredictionWindow, now: string) {
  const { warehouse, bus } = deps;
  const previous = await warehouse.query<AlertState & Record<string, unknown>>('SELECT * FROM {{drift_alerts}} WHERE model = @model AND version = @version', {
    model: window.model,
    version: window.version,
  });
  const transition = nextAlertStates(previous, [...observationsOf(drift), ...families], {
    model: window.model,
    version: window.version,
    windowEnd: window.end.toISOString(),
    now,
  });
  const report = transition.opened.length > 0 ? await linkedReport(deps, window.model, window) : undefined;
  for (const state of transition.opened)
    await bus.publish(TOPICS.driftAlerts, alertEvent(state, drift, window, report), { model: state.model, feature: state.feature });
  if (previous.length > 0 || transition.states.length > 0) {
    await warehouse.replace('drift_alerts', { model: window.model, version: window.version }, transition.states as unknown as Record<string, unknown>[]);
  }
  return { opened: transition.opened.map((state) => state.feature), resolved: transition.resolved.map((state) => state.feature) };
}

/** Writes the model's report of the window and returns the link alerts carry; nothing without a place for reports. */
async function linkedReport(deps: MonitoringDependencies, model: string, window: { start: Date; end: Date }): Promise<string | undefined> {
  if (!deps.reports) return undefined;
  const { object } = await writeModelReport({ warehouse: deps.warehouse, registry: deps.registry, artifacts: deps.reports.artifacts }, model, window);
  return reportLink(object, deps.reports.dashboardUrl);
}

function alertEvent(state: AlertState, drift: VersionDrift, window: PredictionWindow, report: string | undefined): DriftAlert {
  const feature = drift.features.find((candidate) => candidate.feature === state.feature);
  const sizes = feature ?? {
    referenceSize: Math.max(0, ...drift.features.map((candidate) => candidate.referenceSize)),
    currentSize: Math.max(0, ...drift.features.map((candidate) => candidate.currentSize)),
  };
  return {
    schemaVersion: 1,
    alertId: state.alert_id,
    model: state.model,
    version: state.version,
    feature: state.feature,
    method: state.method,
    value: state.value,
    threshold: state.threshold,
    windowStart: window.start.toISOString(),
    windowEnd: window.end.toISOString(),
    reference: drift.reference,
    referenceSize: sizes.referenceSize,
    currentSize: sizes.currentSize,
    openedAt: state.opened_at,
    ...(report ? { report } : {}),
  };
}
