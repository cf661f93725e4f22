import { keysQuery, type PredictionWindow, type SampleSource, windowRowBase } from '../domain/drift/drift-queries.js';
import type { Observation } from '../domain/drift/alert-state.js';
import type { SkippedFeature } from '../domain/drift/drift-result.js';
import { isMonitorableKey, monitoringDialect } from '../domain/drift/sql-dialect.js';
import { ALERT_PREFIX, type FamilyOutcome } from '../domain/monitoring/family.js';
import {
  type QualityFeature,
  type QualityKind,
  qualityWindowSource,
  referenceCategoriesQuery,
  referenceProfileQuery,
  refusalsQuery,
  windowChecksQuery,
} from '../domain/quality/quality-queries.js';
import { QUALITY_CHECKS, type QualityCheck, type QualitySettings, qualityThreshold, REQUESTS_FEATURE } from '../domain/quality/quality-settings.js';
import type { ModelVersion } from '../domain/registry.js';
import type { Warehouse } from '../ports/warehouse.port.js';
import { DEFAULT_LIMITS, type MeasureLimits } from './drift-measures.js';
import type { VersionReference } from './version-drift.js';

/** One check of one feature in a window: the share of predictions failing it against its threshold. */
export interface QualityCheckResult {
  feature: string;
  check: QualityCheck;
  value: number;
  failing: number;
  rows: number;
  threshold: number;
  crossed: boolean;
}

/** What data quality found in a window: every check measured, and the refused requests by error code out of all requests. */
export interface QualitySummary {
  checks: QualityCheckResult[];
  refused: { code: string; count: number }[];
  /** Online predictions plus refused requests. */
  requests: number;
}

/** A feature as the reference profiles it: its kind, the rows holding a value, and for numbers their range. */
interface ReferenceProfile {
  kind: QualityKind;
  present: number;
  range?: { min: number; max: number };
}

/**
 * Measures the data quality of a version's window against its reference: per feature (the reference's
 * keys and the window's) the share of predictions missing it, outside the reference's range (numbers),
 * holding a category the reference never had (categories) or a value of the wrong type; and the refused
 * requests by error code. One pass over the window for every feature and check, one over the reference
 * for the profiles, one bounded pass per categorical feature for its categories.
 */
export async function measureDataQuality(
  warehouse: Warehouse,
  window: PredictionWindow,
  reference: VersionReference,
  settings: QualitySettings,
  computedAt: string,
  limits: Pick<MeasureLimits, 'maxCategories'> = DEFAULT_LIMITS,
): Promise<FamilyOutcome<QualitySummary>> {
  const skipped: SkippedFeature[] = [];
  const keys = await featureKeys(warehouse, window, reference.inputs, skipped);
  const profiles = reference.inputs ? await profileReference(warehouse, reference.inputs, keys) : new Map<string, ReferenceProfile>();
  const features: QualityFeature[] = [];
  for (const key of keys) features.push(await qualityFeature(warehouse, reference, key, profiles.get(key), limits.maxCategories, skipped));
  const query = windowChecksQuery(warehouse.dialect, window, features);
  const [counts = {}] = await warehouse.query(query.sql, query.params);
  const rows = Number(counts.row_count ?? 0);
  const checks: QualityCheckResult[] = [];
  if (rows === 0) skipped.push(...keys.map((feature) => ({ feature, reason: 'no predictions in the window' })));
  else for (const [i, { key }] of features.entries()) checks.push(...featureChecks(key, i, counts, rows, settings));
  const refused = await refusals(warehouse, window);
  const requests = Number(counts.online ?? 0) + refused.reduce((sum, { count }) => sum + count, 0);
  const base = windowRowBase(window, computedAt);
  return {
    rows: [
      ...checks.map((check) => ({ ...base, ...checkRow(check), reference_size: profiles.get(check.feature)?.present ?? 0 })),
      ...refused.map(({ code, count }) => ({ ...base, ...refusalRow(code, count, requests) })),
    ],
    observations: observations(checks),
    summary: { checks, refused, requests },
    skipped,
  };
}

/** Keys seen in a sample of the reference or the window; names that cannot be put in a JSONPath safely are skipped. */
async function featureKeys(warehouse: Warehouse, window: PredictionWindow, reference: SampleSource | undefined, skipped: SkippedFeature[]): Promise<string[]> {
  const dialect = monitoringDialect(warehouse.dialect);
  const keysOf = async (source: SampleSource) => {
    const query = keysQuery(dialect, source);
    return (await warehouse.query<{ key: string }>(query.sql, query.params)).map((row) => row.key);
  };
  const keys = new Set([...(reference ? await keysOf(reference) : []), ...(await keysOf(qualityWindowSource(window)))]);
  const sorted = [...keys].sort();
  for (const key of sorted.filter((candidate) => !isMonitorableKey(candidate)))
    skipped.push({ feature: key, reason: 'name is not monitorable (letters, digits, _ - : only)' });
  return sorted.filter(isMonitorableKey);
}

/** Each key's kind as drift decides it (numbers when every present reference value reads as one), its present values and range. */
async function profileReference(warehouse: Warehouse, reference: SampleSource, keys: string[]): Promise<Map<string, ReferenceProfile>> {
  if (keys.length === 0) return new Map();
  const query = referenceProfileQuery(warehouse.dialect, reference, keys);
  const [row = {}] = await warehouse.query(query.sql, query.params);
  return new Map(
    keys.map((key, i): [string, ReferenceProfile] => {
      const present = Number(row[`present_${i}`] ?? 0);
      const numbers = Number(row[`numbers_${i}`] ?? 0);
      if (present === 0) return [key, { kind: 'unknown', present }];
      if (numbers < present) return [key, { kind: 'categorical', present }];
      return [key, { kind: 'numeric', present, range: { min: Number(row[`min_${i}`]), max: Number(row[`max_${i}`]) } }];
    }),
  );
}

/** What the window pass checks for one key: its kind, and the reference range or categories (skipped, with why, when there are none to compare with). */
async function qualityFeature(
  warehouse: Warehouse,
  reference: VersionReference,
  key: string,
  profile: ReferenceProfile | undefined,
  maxCategories: number,
  skipped: SkippedFeature[],
): Promise<QualityFeature> {
  if (!reference.inputs || !profile || profile.kind === 'unknown') {
    const why = reference.inputs ? 'the reference holds no value of it' : 'there is no reference yet';
    skipped.push({ feature: key, reason: `out_of_range and unseen_category not checked: ${why}` });
    return { key, kind: 'unknown' };
  }
  if (profile.kind === 'numeric') return { key, kind: 'numeric', ...(profile.range ? { range: profile.range } : {}) };
  const query = referenceCategoriesQuery(warehouse.dialect, reference.inputs, key, maxCategories + 1);
  const categories = (await warehouse.query<{ value: string }>(query.sql, query.params)).map((row) => String(row.value));
  if (categories.length <= maxCategories) return { key, kind: 'categorical', categories };
  skipped.push({ feature: key, reason: `unseen_category not checked: more than ${maxCategories} categories in the reference` });
  return { key, kind: 'categorical' };
}

/** The checks the window pass counted for feature i, in report order. */
function featureChecks(feature: string, i: number, counts: Record<string, unknown>, rows: number, settings: QualitySettings): QualityCheckResult[] {
  return QUALITY_CHECKS.filter((check) => counts[`${check}_${i}`] !== undefined).map((check) => {
    const failing = Number(counts[`${check}_${i}`] ?? 0);
    const threshold = qualityThreshold(settings, feature, check);
    const value = failing / rows;
    return { feature, check, value, failing, rows, threshold, crossed: value > threshold };
  });
}

async function refusals(warehouse: Warehouse, window: PredictionWindow): Promise<{ code: string; count: number }[]> {
  const query = refusalsQuery(window);
  const rows = await warehouse.query<{ code: string; refused: number }>(query.sql, query.params);
  return rows.map((row) => ({ code: row.code, count: Number(row.refused) })).filter(({ count }) => count > 0);
}

function checkRow({ feature, check, value, failing, rows, threshold, crossed }: QualityCheckResult): Record<string, unknown> {
  return { feature, check, value, failing, rows, threshold, crossed };
}

// Refusals only report: how many requests a code turned away says what callers send, not what to alert on.
function refusalRow(code: string, count: number, requests: number): Record<string, unknown> {
  return {
    feature: REQUESTS_FEATURE,
    check: `refused:${code}`,
    value: count / requests,
    failing: count,
    rows: requests,
    threshold: null,
    crossed: false,
    reference_size: 0,
  };
}

/** One observation per feature: its first crossed check, else its first check (which then resolves an open alert). */
function observations(checks: QualityCheckResult[]): Observation[] {
  const byFeature = new Map<string, QualityCheckResult>();
  for (const check of checks) {
    const earlier = byFeature.get(check.feature);
    if (!earlier || (check.crossed && !earlier.crossed)) byFeature.set(check.feature, check);
  }
  return [...byFeature.values()].map(({ feature, check, value, threshold, crossed }) => ({
    feature: ALERT_PREFIX.quality + feature,
    method: check,
    value,
    threshold,
    drifted: crossed,
  }));
}
