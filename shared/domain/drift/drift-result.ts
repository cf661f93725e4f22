import type { DriftMethod, FeatureKind } from './methods.js';

/** The drift of one feature (or model output) between a reference and the current window. */
export interface FeatureDrift {
  /** An input feature name, or `outputs.<name>` for a model output. */
  feature: string;
  kind: FeatureKind;
  method: DriftMethod;
  /** What the threshold is compared with: a p-value for tests, the distance otherwise. */
  value: number;
  threshold: number;
  drifted: boolean;
  /** The statistic behind the value: KS D, chi-square, z, or the distance itself. */
  statistic: number;
  /** Bound on |statistic − exact statistic| when computed over bins; 0 when exact. */
  tolerance: number;
  referenceSize: number;
  currentSize: number;
}

/** A feature that was not measured, and why. */
export interface SkippedFeature {
  feature: string;
  reason: string;
}

/** The `feature` of the row that records whole-dataset drift. */
export const DATASET_FEATURE = '__dataset__';
/** The `method` of that row: the share of drifted input features. */
export const DATASET_METHOD = 'share_drifted';

/** The share of drifted input features, and whether it reaches the dataset threshold. */
export function datasetDrift(features: FeatureDrift[], share: number): { value: number; drifted: boolean } {
  const inputs = features.filter((feature) => !feature.feature.startsWith('outputs.'));
  const value = inputs.length === 0 ? 0 : inputs.filter((feature) => feature.drifted).length / inputs.length;
  return { value, drifted: inputs.length > 0 && value >= share };
}
