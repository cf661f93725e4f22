import { validateModelName } from '../../shared/domain/names.js';
import type { ArmSummary, RolloutComparison } from '../../shared/services/rollout-comparison.js';
import type { CliContext } from './context.js';
import { table } from './format.js';
import { callFunction } from './http.js';

/** `mlops rollout compare <model> [--rollout <id>]`: the candidate and the baseline side by side, from the monitoring API. */
export async function rolloutCompare(context: CliContext, model: string, options: { rollout?: string }): Promise<RolloutComparison> {
  const name = validateModelName(model);
  const query = options.rollout ? `?rollout=${encodeURIComponent(options.rollout)}` : '';
  return callFunction<RolloutComparison>(context, 'monitoring-api', `/models/${name}/rollouts/compare${query}`);
}

const number = (value: number | null | undefined, digits = 1): string => (value === null || value === undefined ? '-' : value.toFixed(digits));
const share = (value: number | null | undefined): string => (value === null || value === undefined ? '-' : `${(value * 100).toFixed(2)}%`);
const arm = (label: string, summary: ArmSummary) => [
  label,
  `v${summary.version}${summary.source === 'shadow' ? ' (shadow)' : ''}`,
  summary.requests,
  summary.errors,
  share(summary.errorRate),
  number(summary.p50Ms),
  number(summary.p99Ms),
];

/** The comparison for people: one row per arm, then output drift and what the mode adds (shadow agreement, A/B verdict). */
export function describeRolloutComparison(c: RolloutComparison): string {
  const lines = [
    `${c.model} rollout ${c.rolloutId} (${c.mode}, ${c.state.replace('_', ' ')}): ${c.from} to ${c.to}`,
    table(['ARM', 'VERSION', 'REQUESTS', 'ERRORS', 'ERROR RATE', 'P50 MS', 'P99 MS'], [arm('candidate', c.candidate), arm('baseline', c.baseline)]),
    `output drift (Jensen-Shannon, candidate against baseline): ${c.outputDrift === null ? 'no outputs on one side yet' : c.outputDrift.toFixed(4)}`,
  ];
  if (c.shadow) lines.push(describeShadow(c.shadow));
  if (c.mode === 'split') {
    const g = c.groundTruth;
    lines.push(
      g
        ? `${g.metric.replaceAll('_', ' ')}: candidate ${g.candidate.value.toFixed(4)} (n=${g.candidate.n}), baseline ${g.baseline.value.toFixed(4)} (n=${g.baseline.n}); ` +
            `${g.test} ${g.statistic.toFixed(3)}, p=${g.pValue.toPrecision(3)}: ${g.verdict}`
        : 'no ground truth for either arm yet: send outcomes with mlops ground-truth to compare performance',
    );
  }
  return lines.join('\n');
}

function describeShadow(shadow: NonNullable<RolloutComparison['shadow']>): string {
  if (shadow.pairs === 0) return 'shadow: no shadow answer matched to a production answer yet';
  if (shadow.labelAgreement !== undefined) return `shadow: the label agreed with production on ${share(shadow.labelAgreement)} of ${shadow.pairs} requests`;
  return `shadow: |score difference| against production over ${shadow.pairs} requests: mean ${number(shadow.meanAbsoluteDifference, 4)}, p99 ${number(shadow.p99AbsoluteDifference, 4)}`;
}
