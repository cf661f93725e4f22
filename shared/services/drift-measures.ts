import { chiSquareContingency, jensenShannonDistance, lInfinityDistance, populationStabilityIndex, proportionZTest } from '../domain/drift/count-statistics.js';
import {
  binCountsQuery,
  binnedCdfQuery,
  type Comparison,
  categoryCountsQuery,
  exactCdfQuery,
  profileQuery,
  referenceQuantilesQuery,
} from '../domain/drift/drift-queries.js';
import type { FeatureDrift, SkippedFeature } from '../domain/drift/drift-result.js';
import { ksTwoSampleTest } from '../domain/drift/kolmogorov-smirnov.js';
import { type DriftMethod, type DriftSettings, defaultMethod, type FeatureKind, isDrifted, METHODS, settingsFor } from '../domain/drift/methods.js';
import { type JsonPath, type MonitoringDialect, monitoringDialect } from '../domain/drift/sql-dialect.js';
import type { Warehouse } from '../ports/warehouse.port.js';

/** Limits that keep every query's memory bounded; tests lower them to force a path. */
export interface MeasureLimits {
  /** KS and Wasserstein run over exact CDFs while both sides have at most this many distinct values together. */
  exactDistinctValues: number;
  /** Otherwise over this many equal-width bins (tolerance reported per feature). */
  cdfBins: number;
  /** PSI and Jensen-Shannon edges are exact quantiles up to this many reference values, t-digest/APPROX_QUANTILES beyond. */
  exactQuantileValues: number;
  /** A categorical feature with more categories is skipped. */
  maxCategories: number;
}

/** The default limits. */
export const DEFAULT_LIMITS: MeasureLimits = { exactDistinctValues: 100_000, cdfBins: 10_000, exactQuantileValues: 100_000, maxCategories: 1000 };

/** Features with at most this many distinct values (by the profile's estimate) get exact counts per value. */
const FEW_VALUES = 100;
const DEFAULT_BINS = 10;

/** A feature to measure: where it sits in the sample's JSON, the name it is reported under, and its kind when known beforehand. */
export interface FeatureKey {
  key: JsonPath;
  name: string;
  /** Set for a classifier's predicted label: class ids are categories even when they are numbers. */
  kind?: FeatureKind;
}

interface SideProfile {
  text: number;
  numbers: number;
  distinct: number;
  min: number | null;
  max: number | null;
  std: number | null;
}

interface Measurement {
  statistic: number;
  value: number;
  tolerance: number;
}

type CountsRow = { value: unknown; reference: number; current: number };

/** Everything one feature's measurement needs. */
interface FeatureContext {
  warehouse: Warehouse;
  dialect: MonitoringDialect;
  comparison: Comparison;
  key: JsonPath;
  kind: FeatureKind;
  reference: SideProfile;
  current: SideProfile;
  counts?: CountsRow[];
  bins: number;
  limits: MeasureLimits;
}

/**
 * Measures drift for each feature of a comparison with the method its settings (or Evidently's
 * defaults) choose. Each feature costs one profile column and one or two aggregate queries.
 */
export async function measureDrift(
  warehouse: Warehouse,
  comparison: Comparison,
  features: FeatureKey[],
  settings: DriftSettings,
  limits: MeasureLimits = DEFAULT_LIMITS,
): Promise<{ results: FeatureDrift[]; skipped: SkippedFeature[] }> {
  const dialect = monitoringDialect(warehouse.dialect);
  const results: FeatureDrift[] = [];
  const skipped: SkippedFeature[] = [];
  if (features.length === 0) return { results, skipped };
  const profile = profileQuery(
    dialect,
    comparison,
    features.map(({ key }) => key),
  );
  const rows = await warehouse.query(profile.sql, profile.params);
  for (const [index, feature] of features.entries()) {
    const [reference, current] = (['reference', 'current'] as const).map((side) => sideProfile(rows.find((row) => row.side === side) ?? {}, index)) as [
      SideProfile,
      SideProfile,
    ];
    const outcome = await measureFeature(warehouse, dialect, comparison, feature, reference, current, settings, limits);
    if ('reason' in outcome) skipped.push(outcome);
    else results.push(outcome);
  }
  return { results, skipped };
}

function sideProfile(row: Record<string, unknown>, index: number): SideProfile {
  const number = (name: string) => (row[`${name}_${index}`] === null || row[`${name}_${index}`] === undefined ? null : Number(row[`${name}_${index}`]));
  return {
    text: number('text') ?? 0,
    numbers: number('numbers') ?? 0,
    distinct: number('distinct') ?? 0,
    min: number('min'),
    max: number('max'),
    std: number('std'),
  };
}

async function measureFeature(
  warehouse: Warehouse,
  dialect: MonitoringDialect,
  comparison: Comparison,
  { key, name, kind: knownKind }: FeatureKey,
  reference: SideProfile,
  current: SideProfile,
  settings: DriftSettings,
  limits: MeasureLimits,
): Promise<FeatureDrift | SkippedFeature> {
  if (reference.text === 0 || current.text === 0) return { feature: name, reason: `no values in the ${reference.text === 0 ? 'reference' : 'current window'}` };
  const kind: FeatureKind = knownKind ?? (reference.numbers === reference.text && current.numbers === current.text ? 'numeric' : 'categorical');
  const context: FeatureContext = { warehouse, dialect, comparison, key, kind, reference, current, bins: DEFAULT_BINS, limits };
  if (kind === 'categorical' || Math.max(reference.distinct, current.distinct) <= FEW_VALUES) {
    const query = categoryCountsQuery(dialect, comparison, key, kind === 'numeric', limits.maxCategories + 1);
    const counts = await warehouse.query<CountsRow>(query.sql, query.params);
    if (counts.length <= limits.maxCategories) context.counts = counts;
    else if (kind === 'categorical') return { feature: name, reason: `more than ${limits.maxCategories} categories` };
  }
  const own = settingsFor(settings, name);
  context.bins = own.bins ?? DEFAULT_BINS;
  const distinct = context.counts?.length ?? reference.distinct + current.distinct;
  const method = own.method ?? defaultMethod(kind, reference.text, distinct);
  if (METHODS[method].numericOnly && kind !== 'numeric') return { feature: name, reason: `${method} needs numeric values` };
  const measured = await MEASURES[method](context);
  if (typeof measured === 'string') return { feature: name, reason: measured };
  const threshold = own.threshold ?? METHODS[method].threshold;
  const value = Number.isFinite(measured.value) ? measured.value : Number.MAX_VALUE;
  return {
    feature: name,
    kind,
    method,
    value,
    threshold,
    drifted: isDrifted(method, value, threshold),
    statistic: Number.isFinite(measured.statistic) ? measured.statistic : Number.MAX_VALUE,
    tolerance: measured.tolerance,
    referenceSize: reference.text,
    currentSize: current.text,
  };
}

/** KS D and Wasserstein-1: exact over distinct values when they are few enough, else over fine bins. */
async function cdfDistances({ warehouse, dialect, comparison, key, reference, current, counts, limits }: FeatureContext) {
  const exact = counts !== undefined || reference.distinct + current.distinct <= limits.exactDistinctValues;
  const lo = Math.min(reference.min ?? 0, current.min ?? 0);
  const hi = Math.max(reference.max ?? 0, current.max ?? 0);
  const query = exact ? exactCdfQuery(dialect, comparison, key) : binnedCdfQuery(dialect, comparison, key, { lo, hi, bins: limits.cdfBins });
  const [row] = await warehouse.query(query.sql, query.params);
  return {
    ks: Number(row?.ks ?? 0),
    wasserstein: Number(row?.wasserstein ?? 0),
    ksTolerance: exact ? 0 : Number(row?.ks_tolerance ?? 0),
    wassersteinTolerance: exact ? 0 : Number(row?.wasserstein_tolerance ?? 0),
    referenceSize: Number(row?.reference_size ?? reference.numbers),
    currentSize: Number(row?.current_size ?? current.numbers),
  };
}

/** Counts per category, or for numbers per reference-quantile bin (PSI and Jensen-Shannon on numbers always use the bins). */
async function countVectors(context: FeatureContext, preferBins: boolean): Promise<[number[], number[]]> {
  const { warehouse, dialect, comparison, key, kind, counts, reference, bins, limits } = context;
  if (counts && !(kind === 'numeric' && preferBins)) return [counts.map((row) => Number(row.reference)), counts.map((row) => Number(row.current))];
  const quantiles = referenceQuantilesQuery(dialect, comparison.reference, key, { bins, exact: reference.numbers <= limits.exactQuantileValues });
  const [row] = await warehouse.query(quantiles.sql, quantiles.params);
  const edges = row ? quantiles.read(row) : [];
  const query = binCountsQuery(dialect, comparison, key, edges);
  const rows = await warehouse.query<{ bin: number; reference: number; current: number }>(query.sql, query.params);
  const vectors: [number[], number[]] = [new Array(edges.length + 1).fill(0), new Array(edges.length + 1).fill(0)];
  for (const binRow of rows) {
    vectors[0][Number(binRow.bin)] = Number(binRow.reference);
    vectors[1][Number(binRow.bin)] = Number(binRow.current);
  }
  return vectors;
}

const distance = (statistic: number, tolerance = 0): Measurement => ({ statistic, value: statistic, tolerance });

/** How each method is measured; a string is why it could not be. */
const MEASURES: Record<DriftMethod, (context: FeatureContext) => Promise<Measurement | string>> = {
  ks: async (context) => {
    const cdf = await cdfDistances(context);
    const test = ksTwoSampleTest(cdf.referenceSize, cdf.currentSize, cdf.ks);
    return { statistic: test.statistic, value: test.pValue, tolerance: cdf.ksTolerance };
  },
  wasserstein: async (context) => {
    const cdf = await cdfDistances(context);
    const scale = context.reference.std && context.reference.std > 0 ? context.reference.std : 1;
    return distance(cdf.wasserstein / scale, cdf.wassersteinTolerance / scale);
  },
  psi: async (context) => distance(populationStabilityIndex(...(await countVectors(context, true)))),
  jensen_shannon: async (context) => distance(jensenShannonDistance(...(await countVectors(context, true)))),
  l_infinity: async (context) => distance(lInfinityDistance(...(await countVectors(context, false)))),
  chi_square: async (context) => {
    const test = chiSquareContingency(...(await countVectors(context, false)));
    return { statistic: test.statistic, value: test.pValue, tolerance: 0 };
  },
  z_test: async (context) => {
    const [reference, current] = await countVectors(context, false);
    if (reference.length > 2) return `z_test needs at most two values, found ${reference.length}`;
    const test = proportionZTest(reference, current);
    return { statistic: test.statistic, value: test.pValue, tolerance: 0 };
  },
};
