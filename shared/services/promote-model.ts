import type { ModelPromoted } from '../domain/events.js';
import { validateAliasName, validateModelName } from '../domain/names.js';
import type { PromotionPolicy, PromotionRequest } from '../domain/registry.js';
import { TOPICS } from '../domain/topics.js';
import type { EventBus } from '../ports/event-bus.port.js';
import type { AliasMove, ModelRegistry } from '../ports/model-registry.port.js';

/** The ports alias moves work with. */
export interface PromoteDeps {
  registry: ModelRegistry;
  bus: EventBus;
  policy: PromotionPolicy;
}

/** A rollback request: the alias goes back to its previous holder. */
export interface RollbackRequest {
  model: string;
  alias: string;
  actor: string;
  reason: string;
  requestId: string;
}

/** Moves an alias under the promotion rules and announces it on model-promoted. */
export async function promoteModel(request: PromotionRequest, { registry, bus, policy }: PromoteDeps): Promise<AliasMove> {
  validateModelName(request.model);
  validateAliasName(request.alias);
  const move = await registry.promote(request, policy);
  await announce(move, bus);
  return move;
}

/** Restores an alias's previous holder and announces it on model-promoted. */
export async function rollbackModel(request: RollbackRequest, { registry, bus }: Omit<PromoteDeps, 'policy'>): Promise<AliasMove> {
  validateModelName(request.model);
  validateAliasName(request.alias);
  const move = await registry.rollback(request);
  await announce(move, bus);
  return move;
}

// Announced on redelivery too: the first attempt may have died between commit and publish;
// serving-rollout treats a repeat as a no-op.
async function announce(move: AliasMove, bus: EventBus): Promise<void> {
  const event: ModelPromoted = {
    schemaVersion: 1,
    model: move.model,
    alias: move.alias,
    version: move.version,
    previousVersion: move.previousVersion,
    actor: move.audit.actor,
    promotedAt: move.audit.at,
  };
  await bus.publish(TOPICS.modelPromoted, event, { model: move.model, alias: move.alias, version: String(move.version) });
}
