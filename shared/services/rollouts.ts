import { randomUUID } from 'node:crypto';
import { PlatformError } from '../domain/errors.js';
import type { RolloutChanged } from '../domain/events.js';
import { parseVersionNumber, validateModelName } from '../domain/names.js';
import { checkPromotion, type PromotionPolicy } from '../domain/registry.js';
import {
  abortRollout as abortedRollout,
  isActive,
  pauseRollout as pausedRollout,
  planRollout,
  type Rollout,
  type RolloutRequest,
  resumeRollout as resumedRollout,
} from '../domain/rollout.js';
import { TOPICS } from '../domain/topics.js';
import type { EventBus } from '../ports/event-bus.port.js';
import type { ModelRegistry } from '../ports/model-registry.port.js';

/** The ports and clocks rollouts are started and stopped with. */
export interface RolloutDeps {
  registry: ModelRegistry;
  bus: EventBus;
  policy: PromotionPolicy;
  now?: () => Date;
  newId?: () => string;
}

/** Who stops or resumes a rollout, and why (kept in the audit trail). */
export interface RolloutAction {
  actor: string;
  reason: string;
}

/**
 * Starts a rollout of a candidate against the version production holds. A canary or split may end
 * by promoting the candidate, so the promotion policy applies to it as to `mlops promote --to
 * production`; a shadow promotes nothing, so it does not. The same requestId again returns the
 * rollout it made (created: false).
 */
export async function startRollout(request: RolloutRequest, deps: RolloutDeps): Promise<{ rollout: Rollout; created: boolean }> {
  const { registry, policy, now = () => new Date(), newId = randomUUID } = deps;
  validateModelName(request.model);
  parseVersionNumber(request.candidate);
  const model = await registry.getModel(request.model);
  if (!model) throw new PlatformError('REGISTRY.MODEL_NOT_FOUND', `No model named "${request.model}". List models with: mlops models list`);
  // A redelivered start finds its rollout before anything below, which may have moved since, is judged again.
  const made = (await registry.listRollouts(request.model)).find((rollout) => rollout.requestId === request.requestId);
  if (made) return announce({ rollout: made, created: false }, deps.bus);
  const candidate = await registry.getVersion(request.model, request.candidate);
  const planned = planRollout(request, model.aliases.production, candidate, { id: newId(), now: now().toISOString() });
  if (request.mode !== 'shadow') {
    const promotion = {
      model: request.model,
      version: request.candidate,
      alias: 'production',
      actor: request.actor,
      reason: request.reason,
      requestId: request.requestId,
    };
    checkPromotion(candidate, promotion, policy, policy.requireStaging ? await registry.history(request.model) : []);
  }
  return announce(await registry.startRollout(planned), deps.bus);
}

/** Pauses the model's running rollout: its share stays where it is and the analysis stops advancing it. */
export function pauseRollout(model: string, { actor }: RolloutAction, deps: Omit<RolloutDeps, 'policy'>): Promise<Rollout> {
  return changeActive(model, deps, 'pause', (rollout, now) => pausedRollout(rollout, now, actor));
}

/** Resumes the model's paused rollout; the step under way starts its interval again. */
export function resumeRollout(model: string, { actor }: RolloutAction, deps: Omit<RolloutDeps, 'policy'>): Promise<Rollout> {
  return changeActive(model, deps, 'resume', (rollout, now) => resumedRollout(rollout, now, actor));
}

/** Aborts the model's active rollout: all traffic goes back to the baseline at once. */
export function abortRollout(model: string, { actor, reason }: RolloutAction, deps: Omit<RolloutDeps, 'policy'>): Promise<Rollout> {
  return changeActive(model, deps, 'abort', (rollout, now) => abortedRollout(rollout, { actor, reason, now }));
}

/** A model's rollouts, newest first, and its current one: the active rollout, else the latest. */
export async function getRollouts(model: string, { registry }: Pick<RolloutDeps, 'registry'>): Promise<{ current?: Rollout; rollouts: Rollout[] }> {
  validateModelName(model);
  const all = await registry.listRollouts(model);
  const current = all.find(isActive) ?? all[0];
  return current ? { current, rollouts: all } : { rollouts: all };
}

/**
 * Applies a transition to the active rollout, compare-and-set on its updatedAt. Losing to a
 * concurrent change (the analyser moving a step) re-reads it and tries once more.
 */
async function changeActive(
  model: string,
  deps: Omit<RolloutDeps, 'policy'>,
  what: string,
  change: (rollout: Rollout, now: string) => Rollout,
): Promise<Rollout> {
  validateModelName(model);
  const { registry, now = () => new Date() } = deps;
  for (let attempt = 1; attempt <= 2; attempt++) {
    const current = await registry.getRollout(model);
    if (!current || !isActive(current)) {
      throw new PlatformError('ROLLOUT.NOT_FOUND', `No rollout under way for "${model}"; start one with: mlops rollout start ${model} <version> --canary 10`);
    }
    const result = await registry.updateRollout(change(current, instantAfter(current.updatedAt, now())), current.updatedAt);
    if (result.applied) return (await announce({ rollout: result.rollout, created: false }, deps.bus)).rollout;
  }
  throw new PlatformError('INTERNAL', `The rollout of "${model}" kept changing while it was asked to ${what}; try again.`, { permanent: false });
}

// Compare-and-set keys on updatedAt, so every change must carry a new one, even within one millisecond.
function instantAfter(previous: string, now: Date): string {
  return new Date(Math.max(now.getTime(), Date.parse(previous) + 1)).toISOString();
}

// Announced on a repeat too: the first attempt may have died between commit and publish, and
// serving converges on the registry's state whatever it is told, so a repeat changes nothing.
async function announce<T extends { rollout: Rollout }>(result: T, bus: EventBus): Promise<T> {
  await publishRolloutChanged(bus, result.rollout);
  return result;
}

/** Tells serving (and anyone following) that a rollout changed, so it converges on the registry's state. */
export async function publishRolloutChanged(bus: EventBus, rollout: Rollout): Promise<void> {
  const event: RolloutChanged = {
    schemaVersion: 1,
    model: rollout.model,
    rolloutId: rollout.id,
    state: rollout.state,
    stepIndex: rollout.stepIndex,
    changedAt: rollout.updatedAt,
  };
  await bus.publish(TOPICS.rolloutChanged, event, { model: rollout.model, rolloutId: rollout.id, state: rollout.state });
}
