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
export async function rollOutServing(event: ModelPromoted, { registry, deployer, servedAlias }: ServingRolloutDeps): Promise<ServingDeployment | undefined> {
  if (event.alias !== servedAlias) return undefined;
  const model = await registry.getModel(event.model);
  const version = model?.aliases[servedAlias];
  if (version === undefined) return undefined;
  const deployment = await deployer.deploy(event.model, version);
  if (model?.serving?.revision !== deployment.revision || model.serving.url !== deployment.url) {
    await registry.recordServing(event.model, {
      url: deployment.url,
      version: deployment.version,
      revision: deployment.revision,
      deployedAt: deployment.deployedAt,
    });
  }
  return deployment;
}
