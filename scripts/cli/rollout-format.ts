import { describeRollout, type Rollout, type RolloutStep } from '../../shared/domain/rollout.js';
import { table } from './format.js';

/** What the registry API answers to a start. */
export interface StartAnswer {
  rollout: Rollout;
  created: boolean;
}

/** What the registry API answers to GET /models/:name/rollouts. */
export interface RolloutsAnswer {
  current?: Rollout;
  rollouts: Rollout[];
}

/** A start for people: the rollout's line, and a note when the same request had started it before. */
export function describeStart({ rollout, created }: StartAnswer): string {
  const how = rollout.mode === 'canary' ? `steps of ${rollout.intervalMs / 1000} s, ${rollout.criteria.minRequests} requests each` : '';
  return [
    `${rollout.model}: rollout ${rollout.id} ${created ? 'started' : 'was already started by this request'}`,
    `  ${describeRollout(rollout)}${how ? ` (${how})` : ''}`,
    `  follow it with: mlops rollout status ${rollout.model}`,
  ].join('\n');
}

/** `mlops rollout status` for people: the current rollout's line and its steps, then earlier rollouts. */
export function describeStatus(model: string, { current, rollouts }: RolloutsAnswer): string {
  if (!current) return `${model} has had no rollout. Start one with: mlops rollout start ${model} <version> --canary 10`;
  const earlier = rollouts.filter((rollout) => rollout.id !== current.id);
  const lines = [
    `${model}: rollout ${current.id} (started ${current.createdAt} by ${current.actor})`,
    `  ${describeRollout(current)}`,
    '',
    ...describeSteps(current),
  ];
  if (earlier.length > 0)
    lines.push('', `Earlier rollouts (${earlier.length}):`, ...earlier.map((rollout) => `  ${rollout.id}  ${rollout.createdAt}  ${describeRollout(rollout)}`));
  return lines.join('\n');
}

/** Each step of a rollout: its share, when it ran, the figures it was judged on and its verdict. */
export function describeSteps(rollout: Rollout): string[] {
  const rows = rollout.history.map((step) => stepRow(rollout, step));
  return table(['STEP', 'SHARE', 'STARTED', 'ENDED', 'REQUESTS', 'ERRORS', 'P99', 'DRIFT', 'VERDICT'], rows).split('\n');
}

function stepRow(rollout: Rollout, step: RolloutStep): (string | number)[] {
  const figures = step.figures;
  const candidate = figures?.candidate;
  const verdict = step.verdict
    ? `${step.verdict}: ${step.reason ?? ''}`
    : rollout.state === 'paused' && step.index === rollout.stepIndex
      ? 'paused'
      : 'under way';
  return [
    `${step.index + 1}/${rollout.steps.length}`,
    `${step.percent}%`,
    step.startedAt,
    step.endedAt ?? '',
    candidate ? candidate.requests : '',
    candidate ? candidate.errors : '',
    candidate?.p99Ms == null ? '' : `${candidate.p99Ms.toFixed(1)} ms`,
    figures?.outputDrift == null ? '' : figures.outputDrift.toFixed(3),
    verdict,
  ];
}
