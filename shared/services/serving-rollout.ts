import type { ModelPromoted, RolloutChanged } from '../domain/events.js';
import { isActive, trafficOf } from '../domain/rollout.js';
import type { ModelRegistry } from '../ports/model-registry.port.js';
import type { ServingDeployer, ServingDeployment } from '../ports/serving-deployer.port.js';

/** The ports serving-rollout works with. */
export interface ServingRolloutDeps {
  registry: ModelRegistry;
  deployer: ServingDeployer;
  /** The alias whose holder is served (production by default). */
  servedAlias: string;
}

/**
 * Follows an alias move: when the served alias moved, routes the model's endpoint to the version
 * the alias holds now (with its active rollout, if any). It reads the registry rather than trusting
 * the event's version, so out-of-order or repeated events converge on the current holder.
 */
export async function rollOutServing(event: ModelPromoted, deps: ServingRolloutDeps): Promise<ServingDeployment | undefined> {
  if (event.alias !== deps.servedAlias) return undefined;
  return serveAliasHolder(event.model, deps);
}

/**
 * Follows a rollout's change (started, stepped, paused, resumed, ended): the endpoint converges on
 * what the registry holds now, not on the event, so a repeated or late event changes nothing.
 */
export async function routeRollout(event: RolloutChanged, deps: ServingRolloutDeps): Promise<ServingDeployment | undefined> {
  return serveAliasHolder(event.model, deps);
}

/**
 * Serves the version the served alias holds now (nothing when it holds none), its traffic split as
 * the model's active rollout says, and records the primary's revision in the registry unless it
 * already holds it. Promotions, rollouts and the local runner's restore on start all use it.
 */
export async function serveAliasHolder(name: string, { registry, deployer, servedAlias }: ServingRolloutDeps): Promise<ServingDeployment | undefined> {
  const model = await registry.getModel(name);
  const version = model?.aliases[servedAlias];
  if (version === undefined) return undefined;
  const rollout = await registry.getRollout(name);
  const deployment = await deployer.route(name, trafficOf(version, rollout && isActive(rollout) ? rollout : undefined));
  const record = { url: deployment.url, version: deployment.version, revision: deployment.revision, deployedAt: deployment.deployedAt };
  // A repeated event finds the record already there; a restart's fresh revision (same name, same URL) is recorded again.
  const recorded = model?.serving;
  if (!recorded || (Object.keys(record) as (keyof typeof record)[]).some((key) => recorded[key] !== record[key])) await registry.recordServing(name, record);
  return deployment;
}
