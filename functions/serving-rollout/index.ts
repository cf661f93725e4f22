import * as ff from '@google-cloud/functions-framework';
import { ModelPromoted, RolloutChanged } from '../../shared/domain/events.js';
import { TOPICS } from '../../shared/domain/topics.js';
import type { ServingDeployment } from '../../shared/ports/serving-deployer.port.js';
import { log, platform, topicHandler } from '../../shared/runtime/index.js';
import { type ServingRolloutDeps, rollOutServing, routeRollout } from '../../shared/services/serving-rollout.js';

/** Both entries converge the endpoint on the registry with the same ports. */
async function deps(): Promise<ServingRolloutDeps> {
  const p = platform();
  return { registry: await p.registry(), deployer: await p.servingDeployer(), servedAlias: p.config.serving.alias };
}

function logServing(functionName: string, deployment: ServingDeployment | undefined, nothing: string): void {
  if (!deployment) {
    log('INFO', nothing, { function: functionName });
    return;
  }
  const split = deployment.traffic ? `, traffic ${JSON.stringify(deployment.traffic)}` : '';
  log('INFO', `${deployment.model} version ${deployment.version} serving at ${deployment.url} (revision ${deployment.revision}${split})`, {
    function: functionName,
  });
}

ff.cloudEvent(
  'rollOutServing',
  topicHandler(platform, {
    functionName: 'serving-rollout',
    topic: TOPICS.modelPromoted,
    schema: ModelPromoted,
    handle: async (event) =>
      logServing('serving-rollout', await rollOutServing(event, await deps()), `${event.model}: ${event.alias} is not the served alias; nothing to deploy`),
  }),
);

ff.cloudEvent(
  'routeRollout',
  topicHandler(platform, {
    functionName: 'rollout-serving',
    topic: TOPICS.rolloutChanged,
    schema: RolloutChanged,
    handle: async (event) =>
      logServing('rollout-serving', await routeRollout(event, await deps()), `${event.model}: the served alias holds no version; nothing to route`),
  }),
);
