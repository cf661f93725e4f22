import * as ff from '@google-cloud/functions-framework';
import { parseRetrainConfig } from '../../shared/config/retrain-config.js';
import { ENV } from '../../shared/config/env.js';
import { RetrainRequested } from '../../shared/domain/retrain.js';
import { log, platform, topicHandler } from '../../shared/runtime/index.js';
import { retrainTargets } from '../../shared/runtime/retrain.js';
import { deliverRetrain } from '../../shared/services/retrain-delivery.js';

ff.cloudEvent(
  'deliverRetrain',
  topicHandler(platform, {
    functionName: 'deliver-retrain',
    topic: 'retrain-requested',
    schema: RetrainRequested,
    handle: async (request) => {
      const targets = await retrainTargets(parseRetrainConfig(process.env));
      if (targets.length === 0) {
        log(
          'WARNING',
          `retrain request ${request.requestId} for ${request.model}: no target (set ${ENV.retrainWebhookUrl}, ${ENV.retrainJob} or ${ENV.retrainCommand})`,
          {
            function: 'deliver-retrain',
          },
        );
      }
      const outcome = await deliverRetrain(request, {
        targets,
        store: await platform().retrainStore(),
        registry: await platform().registry(),
        warehouse: await platform().warehouse(),
        artifacts: await platform().artifacts(),
      });
      log('INFO', `retrain request ${request.requestId} delivered to ${outcome.delivered.length} target(s), ${outcome.skipped.length} already had it`, {
        function: 'deliver-retrain',
        requestId: request.requestId,
        model: request.model,
      });
    },
  }),
);
