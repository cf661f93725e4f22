import { PlatformError } from '../domain/errors.js';
import type { ModelTask } from '../domain/model-task.js';
import { type PromotionPolicy, taskOf } from '../domain/registry.js';
import { abortRollout, type ArmFigures, applyDecision, judgeStep, type Rollout, type RolloutEffect, type StepFigures } from '../domain/rollout.js';
import type { EventBus } from '../ports/event-bus.port.js';
import type { ModelRegistry } from '../ports/model-registry.port.js';
import type { Warehouse } from '../ports/warehouse.port.js';
import { promoteModel } from './promote-model.js';
import { publishRolloutChanged } from './rollouts.js';
import { type Arm, armErrors, armsOf, armTraffic, outputDrift, type StepWindow } from './rollout-arms.js';
import { compareFromGroundTruth } from './rollout-ground-truth.js';

/** What the analyser works with. */
export interface AnalyseDeps {
  registry: ModelRegistry;
  warehouse: Warehouse;
  bus: EventBus;
  policy: PromotionPolicy;
  now?: () => Date;
}

/** What one tick did to one rollout. */
export interface RolloutAnalysis {
  model: string;
  rolloutId: string;
  /** The step's decision; `production_moved` when production left the baseline by hand; `resumed` for a promotion a crash interrupted. */
  decision: 'wait' | 'pass' | 'fail' | 'production_moved' | 'resumed' | 'error';
  effect: RolloutEffect;
  /** False when another analyser (or a redelivered tick) changed the rollout first: this tick then did nothing. */
  applied: boolean;
  state: Rollout['state'];
  why: string;
  figures?: StepFigures;
}

const PRODUCTION = 'production';

async function armFigures(warehouse: Warehouse, arm: Arm, window: StepWindow): Promise<ArmFigures> {
  const traffic = await armTraffic(warehouse, arm, window, [0.99]);
  const errors = await armErrors(warehouse, arm, window);
  return { version: arm.version, requests: traffic.requests, errors, p99Ms: traffic.latency[0] ?? null };
}

/**
 * The figures of a rollout's step over [from, to): per arm requests, errors and p99 latency, the output
 * drift between the arms, and for a split the comparison from ground truth (null until any arrived).
 * `task` is the candidate's: both arms' outputs are read by its output names.
 */
export async function measureStep(warehouse: Warehouse, rollout: Rollout, window: StepWindow, task: ModelTask): Promise<StepFigures> {
  const arms = armsOf(rollout);
  // One query at a time: an embedded DuckDB connection runs them in turn anyway.
  const candidate = await armFigures(warehouse, arms.candidate, window);
  const baseline = await armFigures(warehouse, arms.baseline, window);
  const drift = await outputDrift(warehouse, arms, window, task);
  const figures: StepFigures = { from: new Date(window.from).toISOString(), to: new Date(window.to).toISOString(), candidate, baseline, outputDrift: drift };
  if (rollout.mode === 'split') figures.comparison = await compareFromGroundTruth(warehouse, arms, window, task);
  return figures;
}

/**
 * One tick of the analyser: every running rollout's step is measured and judged, and the registry moves
 * it on (next step, promotion, rollback) by compare-and-set, so a redelivered tick or a racing analyser
 * changes nothing twice. A failure for one rollout is reported in its summary and the others go on.
 * Everything lives in the registry: a promotion a crash interrupted is finished on the next tick.
 */
export async function analyseRollouts(deps: AnalyseDeps): Promise<RolloutAnalysis[]> {
  const summaries: RolloutAnalysis[] = [];
  const active = await deps.registry.listActiveRollouts();
  for (const rollout of active.filter((candidate) => candidate.state === 'running'))
    summaries.push(await guarded(rollout, () => analyseRollout(deps, rollout)));
  summaries.push(...(await resumePromotions(deps, new Set(active.map((rollout) => rollout.model)))));
  return summaries;
}

async function guarded(rollout: Rollout, work: () => Promise<RolloutAnalysis>): Promise<RolloutAnalysis> {
  try {
    return await work();
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { model: rollout.model, rolloutId: rollout.id, decision: 'error', effect: 'none', applied: false, state: rollout.state, why };
  }
}

async function analyseRollout(deps: AnalyseDeps, current: Rollout): Promise<RolloutAnalysis> {
  const now = (deps.now ?? (() => new Date()))();
  const production = (await deps.registry.getModel(current.model))?.aliases[PRODUCTION];
  if (production !== current.baseline) {
    const reason = `production moved to ${production === undefined ? 'no version' : `version ${production}`} outside the rollout`;
    const next = abortRollout(current, { actor: 'analyser', reason, now: now.toISOString() });
    return settle(deps, current, next, 'rollback', { decision: 'production_moved', why: reason });
  }
  const version = await deps.registry.getVersion(current.model, current.candidate);
  if (!version) throw new PlatformError('REGISTRY.VERSION_NOT_FOUND', `Model "${current.model}" has no version ${current.candidate} any more.`);
  const step = current.history[current.stepIndex]!;
  const figures = await measureStep(deps.warehouse, current, { from: step.startedAt, to: now }, taskOf(version));
  const decision = judgeStep(current, figures, now.getTime());
  const { rollout: next, effect } = applyDecision(current, decision, figures, now.toISOString());
  return settle(deps, current, next, effect, { decision: decision.kind, why: decision.why, figures });
}

/** Stores the rollout's next state; only if that applied, promotes and announces it. */
async function settle(
  deps: AnalyseDeps,
  current: Rollout,
  next: Rollout,
  effect: RolloutEffect,
  summary: Pick<RolloutAnalysis, 'decision' | 'why' | 'figures'>,
): Promise<RolloutAnalysis> {
  const stored = await deps.registry.updateRollout(next, current.updatedAt);
  const base = { model: current.model, rolloutId: current.id, ...summary };
  if (!stored.applied) return { ...base, effect: 'none', applied: false, state: stored.rollout.state };
  if (effect === 'promote') await promoteCandidate(deps, stored.rollout);
  // Announced on every stored tick, a wait included: serving's route is a no-op when nothing changed, and an
  // announcement lost to a crash after the store above is made good a tick later.
  await publishRolloutChanged(deps.bus, stored.rollout);
  return { ...base, effect, applied: true, state: stored.rollout.state };
}

/** The promotion a passed rollout asks for; its request id makes a repeat a no-op. */
async function promoteCandidate({ registry, bus, policy }: AnalyseDeps, rollout: Rollout): Promise<void> {
  const request = { model: rollout.model, version: rollout.candidate, alias: PRODUCTION, actor: `rollout:${rollout.id}` };
  await promoteModel({ ...request, reason: rollout.reason, requestId: `rollout:${rollout.id}:promote` }, { registry, bus, policy });
}

/** A promotion interrupted longer ago than this is not resumed: someone has looked at the model since. */
export const RESUME_WITHIN_MS = 24 * 3_600_000;

/**
 * A rollout stored as promoted whose promotion never reached the audit trail (the analyser stopped between
 * the two writes) is promoted now. Only a model's latest rollout, ended within RESUME_WITHIN_MS, of a model
 * without an active one is looked at; a promotion once made and later rolled back by hand is left alone.
 */
async function resumePromotions(deps: AnalyseDeps, busy: Set<string>): Promise<RolloutAnalysis[]> {
  const now = (deps.now ?? (() => new Date()))().getTime();
  const summaries: RolloutAnalysis[] = [];
  for (const model of await deps.registry.listModels()) {
    if (busy.has(model.name) || model.aliases[PRODUCTION] === undefined) continue;
    const latest = await deps.registry.getRollout(model.name);
    if (latest?.state !== 'promoted' || model.aliases[PRODUCTION] === latest.candidate) continue;
    if (now - Date.parse(latest.endedAt ?? latest.updatedAt) > RESUME_WITHIN_MS) continue;
    const actor = `rollout:${latest.id}`;
    const audit = await deps.registry.history(model.name);
    if (audit.some((entry) => entry.action === 'promoted' && entry.actor === actor)) continue;
    summaries.push(
      await guarded(latest, async () => {
        await promoteCandidate(deps, latest);
        await publishRolloutChanged(deps.bus, latest);
        return { model: model.name, rolloutId: latest.id, decision: 'resumed', effect: 'promote', applied: true, state: latest.state, why: latest.reason };
      }),
    );
  }
  return summaries;
}
