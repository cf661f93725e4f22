/** Drift methods, their defaults (Evidently's), and per-feature settings read from a version's tags. */

/** A drift method. p-value methods drift below their threshold; distances drift at or above it. */
export type DriftMethod = 'ks' | 'wasserstein' | 'psi' | 'jensen_shannon' | 'chi_square' | 'z_test' | 'l_infinity';

/** How a feature's values are compared: as numbers, or as categories. */
export type FeatureKind = 'numeric' | 'categorical';

interface MethodSpec {
  score: 'p_value' | 'distance';
  threshold: number;
  /** Only numeric features: the method needs an order on the values. */
  numericOnly?: boolean;
}

/** Every method, its kind of score and its default threshold. */
export const METHODS: Record<DriftMethod, MethodSpec> = {
  ks: { score: 'p_value', threshold: 0.05, numericOnly: true },
  wasserstein: { score: 'distance', threshold: 0.1, numericOnly: true },
  psi: { score: 'distance', threshold: 0.1 },
  jensen_shannon: { score: 'distance', threshold: 0.1 },
  chi_square: { score: 'p_value', threshold: 0.05 },
  z_test: { score: 'p_value', threshold: 0.05 },
  // Vertex AI Model Monitoring's default alert threshold for L-infinity.
  l_infinity: { score: 'distance', threshold: 0.3 },
};

/** Reference samples up to this size get the small-sample tests (Evidently's cut-off). */
export const SMALL_REFERENCE_ROWS = 1000;
/** A numeric feature needs more distinct values than this to be treated as continuous. */
export const CONTINUOUS_MIN_DISTINCT = 5;
/** The share of drifted input features at which the whole dataset counts as drifted. */
export const DEFAULT_DATASET_DRIFT_SHARE = 0.5;

/** True when `value` crosses `threshold` for this method. */
export function isDrifted(method: DriftMethod, value: number, threshold: number): boolean {
  return METHODS[method].score === 'p_value' ? value < threshold : value >= threshold;
}

/**
 * Evidently's sample-size-aware default: up to 1,000 reference rows, KS for continuous numbers,
 * chi-square for categories and the z-test for binary data; beyond, normalised Wasserstein for
 * continuous numbers and Jensen-Shannon for everything else.
 */
export function defaultMethod(kind: FeatureKind, referenceSize: number, distinctValues: number): DriftMethod {
  const continuous = kind === 'numeric' && distinctValues > CONTINUOUS_MIN_DISTINCT;
  if (referenceSize <= SMALL_REFERENCE_ROWS) {
    if (continuous) return 'ks';
    return distinctValues > 2 ? 'chi_square' : 'z_test';
  }
  return continuous ? 'wasserstein' : 'jensen_shannon';
}

/** What a version's tags set for one feature. */
export interface FeatureDriftSettings {
  method?: DriftMethod;
  threshold?: number;
  /** Bins for PSI and Jensen-Shannon on numeric features (reference quantiles); 10 by default. */
  bins?: number;
}

/** Drift settings of one model version. */
export interface DriftSettings {
  /** By feature name; `*` applies to every feature without its own entry. */
  features: Record<string, FeatureDriftSettings>;
  datasetDriftShare: number;
  /** Tags that were not understood, with why: reported, never fatal. */
  problems: string[];
}

const TAG = /^drift\.(.+)\.(method|threshold|bins)$/;

function settingFrom(name: 'method' | 'threshold' | 'bins', raw: string): Partial<FeatureDriftSettings> | string {
  if (name === 'method') return raw in METHODS ? { method: raw as DriftMethod } : `unknown method "${raw}" (use ${Object.keys(METHODS).join(', ')})`;
  const value = Number(raw);
  if (name === 'threshold') return Number.isFinite(value) && value > 0 ? { threshold: value } : `threshold "${raw}" is not a positive number`;
  return Number.isInteger(value) && value >= 2 && value <= 100 ? { bins: value } : `bins "${raw}" is not an integer from 2 to 100`;
}

/**
 * Reads `drift.<feature>.method`, `drift.<feature>.threshold`, `drift.<feature>.bins` (feature `*`
 * for all, `outputs.<name>` for a model output) and `drift.share` (dataset drift share) from tags.
 */
export function driftSettingsFromTags(tags: Record<string, string>): DriftSettings {
  const settings: DriftSettings = { features: {}, datasetDriftShare: DEFAULT_DATASET_DRIFT_SHARE, problems: [] };
  for (const [key, raw] of Object.entries(tags)) {
    if (key === 'drift.share') {
      const share = Number(raw);
      if (share > 0 && share <= 1) settings.datasetDriftShare = share;
      else settings.problems.push(`${key}: "${raw}" is not a share in (0, 1]`);
      continue;
    }
    const match = TAG.exec(key);
    if (!match) continue;
    const [, feature, name] = match as unknown as [string, string, 'method' | 'threshold' | 'bins'];
    const setting = settingFrom(name, raw.trim());
    if (typeof setting === 'string') settings.problems.push(`${key}: ${setting}`);
    else settings.features[feature] = { ...settings.features[feature], ...setting };
  }
  return settings;
}

/** The settings that apply to one feature: its own over the `*` entry. */
export function settingsFor(settings: DriftSettings, feature: string): FeatureDriftSettings {
  return { ...settings.features['*'], ...settings.features[feature] };
}
