import type { ModelVersion } from '../../shared/domain/registry.js';
import type { InputPlan } from '../../shared/domain/serving/input-plan.js';
import type { PredictionLog } from '../../shared/services/prediction-log.js';
import type { ListenerRollout } from './predict-listener.js';
import type { RolloutSettings } from './rollout-settings.js';
import { ShadowMirror, type ShadowMirrorOptions } from './shadow-mirror.js';
import { StickySplit, type StickySplitOptions } from './sticky-split.js';

/** A counter or gauge for the serving /metrics page. */
export interface MetricFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: { labels?: Record<string, string>; value: number }[];
}

/** What a serving app's rollout parts are built from. */
export interface RolloutPartsOptions {
  settings: RolloutSettings;
  version: ModelVersion;
  plan: InputPlan;
  predictionLog?: PredictionLog;
  mirror?: ShadowMirrorOptions;
  split?: StickySplitOptions;
}

/** A revision's rollout parts: what the listener plays (see ListenerRollout), the refusal counter and their metrics. */
export interface RolloutParts extends ListenerRollout {
  /** Counts a refused or failed prediction request; undefined without a prediction log to report it on. */
  countRefusal?: (status: number, code: string) => void;
  metrics(): MetricFamily[];
}

// A client without a (valid) key is not the model's error: its refusals would only blur the version's error rate.
const NOT_COUNTED = new Set([401, 403]);

/** Builds the rollout parts of one serving revision from its settings, once, at cold start. */
export function rolloutParts({ settings, version, plan, predictionLog, mirror: mirrorOptions, split: splitOptions }: RolloutPartsOptions): RolloutParts {
  const mirror = settings.shadow ? new ShadowMirror(settings.shadow, mirrorOptions) : undefined;
  const split = settings.split ? new StickySplit(settings.split, plan, splitOptions) : undefined;
  const label = { model: version.model, version: version.version, source: settings.role === 'shadow' ? ('shadow' as const) : ('online' as const) };
  const countRefusal = predictionLog
    ? (status: number, code: string) => {
        if (status >= 400 && !NOT_COUNTED.has(status)) predictionLog.countOutcome(label, status, code);
      }
    : undefined;
  return { shadowRole: settings.role === 'shadow', mirror, split, countRefusal, metrics: () => rolloutMetrics(mirror, split) };
}

function rolloutMetrics(mirror: ShadowMirror | undefined, split: StickySplit | undefined): MetricFamily[] {
  const families: MetricFamily[] = [];
  if (mirror) {
    const { sent, failed, skipped } = mirror.stats;
    const help =
      'Copies of answered prediction requests offered to the shadow revision: sent (it answered 2xx), failed, or skipped (too many in flight, or too many ids).';
    families.push(byOutcome('mlops_shadow_requests_total', help, { sent, failed, skipped }));
  }
  if (split) {
    const { forwarded, kept, fallback } = split.stats;
    const help =
      'Prediction requests of a sticky split: forwarded (answered by the candidate), kept (answered here), fallback (meant for the candidate, which could not be reached).';
    families.push(byOutcome('mlops_split_requests_total', help, { forwarded, kept, fallback }));
  }
  return families;
}

/** A counter with one sample per outcome. */
function byOutcome(name: string, help: string, counts: Record<string, number>): MetricFamily {
  return { name, help, type: 'counter', samples: Object.entries(counts).map(([outcome, value]) => ({ labels: { outcome }, value })) };
}
