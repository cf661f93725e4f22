import * as ff from '@google-cloud/functions-framework';
import { ModelPromoted } from '../../shared/domain/events.js';
import { log, platform, topicHandler } from '../../shared/runtime/index.js';
import { deployServing } from '../../shared/services/deploy-serving.js';

ff.cloudEvent(
  'deployServing',
  topicHandler(platform, {
    functionName: 'deploy-serving',
    topic: 'model-promoted',
    schema: ModelPromoted,
    handle: async (event) => {
      const p = platform();
      const deployment = await deployServing(event, { registry: await p.registry(), deployer: await p.servingDeployer(), servedAlias: p.config.serving.alias });
      if (deployment)
        log('INFO', `${deployment.model} version ${deployment.version} serving at ${deployment.url} (revision ${deployment.revision})`, {
          function: 'deploy-serving',
        });
      else log('INFO', `${event.model}: ${event.alias} is not the served alias; nothing to deploy`, { function: 'deploy-serving' });
    },
  }),
);
