import * as ff from '@google-cloud/functions-framework';
import { ModelPromoted } from '../../shared/domain/events.js';
import { log, platform, topicHandler } from '../../shared/runtime/index.js';
import { rollOutServing } from '../../shared/services/serving-rollout.js';

ff.cloudEvent(
  'rollOutServing',
  topicHandler(platform, {
    functionName: 'serving-rollout',
    topic: 'model-promoted',
    schema: ModelPromoted,
    handle: async (event) => {
      const p = platform();
      const deployment = await rollOutServing(event, {
        registry: await p.registry(),
        deployer: await p.servingDeployer(),
        servedAlias: p.config.serving.alias,
      });
      if (deployment)
        log('INFO', `${deployment.model} version ${deployment.version} serving at ${deployment.url} (revision ${deployment.revision})`, {
          function: 'serving-rollout',
        });
      else log('INFO', `${event.model}: ${event.alias} is not the served alias; nothing to deploy`, { function: 'serving-rollout' });
    },
  }),
);
