import * as ff from '@google-cloud/functions-framework';
import { DriftComputed } from '../../shared/domain/monitoring-events.js';
import { log, platform, topicHandler } from '../../shared/runtime/index.js';
import { retrainTableNamer } from '../../shared/runtime/retrain.js';
import { triggerRetrain } from '../../shared/services/retrain-triggers.js';

ff.cloudEvent(
  'triggerRetrain',
  topicHandler(platform, {
    functionName: 'trigger-retrain',
    topic: 'drift-computed',
    schema: DriftComputed,
    handle: async (computed) => {
      const outcomes = await triggerRetrain(computed, {
        bus: platform().eventBus(),
        registry: await platform().registry(),
        store: await platform().retrainStore(),
        table: retrainTableNamer(platform()),
        onInvalidTag: (model, message) => log('WARNING', message, { function: 'trigger-retrain', model }),
      });
      for (const outcome of outcomes) {
        log('INFO', `retrain episode of ${outcome.model}: ${outcome.episode}${outcome.request ? `, requested ${outcome.request.requestId}` : ''}`, {
          function: 'trigger-retrain',
          model: outcome.model,
          requestId: outcome.request?.requestId,
        });
      }
    },
  }),
);
