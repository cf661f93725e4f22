import type { ModelPromoted } from '../domain/events.js';
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
 * Follows an alias move: when the served alias moved, rolls the model's endpoint to the version
 * the alias holds now. It reads the registry rather than trusting the event's version, so
 * out-of-order or repeated events converge on the current holder.
 */
export async function rollOutServing(event: ModelPromoted, deps: ServingRolloutDeps): Promise<ServingDeployment | undefined> {
  if (event.alias !== deps.servedAlias) return undefined;
  return serveAliasHolder(event.model, deps);
}

/**
 * Deploys the version the served alias holds now (nothing when it holds none) and records the
 * endpoint in the registry unless it already holds this deployment. The rollout and the local runner's restore on start both use it.
 */
export async function serveAliasHolder(name: string, { registry, deployer, servedAlias }: ServingRolloutDeps): Promise<ServingDeployment | undefined> {
  const model = await registry.getModel(name);
  const version = model?.aliases[servedAlias];
  if (version === undefined) return undefined;
  const deployment = await deployer.deploy(name, version);
  const record = { url: deployment.url, version: deployment.version, revision: deployment.revision, deployedAt: deployment.deployedAt };
  // A repeated event finds the record already there; a restart's fresh revision (same name, same URL) is recorded again.
  const recorded = model?.serving;
  if (!recorded || (Object.keys(record) as (keyof typeof record)[]).some((key) => recorded[key] !== record[key])) await registry.recordServing(name, record);
  return deployment;
}
