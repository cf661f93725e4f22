import * as ff from '@google-cloud/functions-framework';
import { PromotionRequested } from '../../shared/domain/events.js';
import { PlatformError } from '../../shared/domain/errors.js';
import { log, platform, topicHandler } from '../../shared/runtime/index.js';
import { promoteModel, rollbackModel } from '../../shared/services/promote-model.js';

ff.cloudEvent(
  'promoteModel',
  topicHandler(platform, {
    functionName: 'promote-model',
    topic: 'model-promotions',
    schema: PromotionRequested,
    handle: async (request) => {
      const p = platform();
      const deps = { registry: await p.registry(), bus: p.eventBus(), policy: p.config.promotion };
      if (request.action === 'rollback') {
        const move = await rollbackModel(request, deps);
        log('INFO', `${move.model} ${move.alias} rolled back to version ${move.version}`, { function: 'promote-model' });
        return;
      }
      if (request.version === undefined) throw new PlatformError('EVENT.INVALID', 'A promote request needs a version.');
      const move = await promoteModel({ ...request, version: request.version }, deps);
      log('INFO', `${move.model} ${move.alias} -> version ${move.version}${move.applied ? '' : ' (redelivery)'}`, { function: 'promote-model' });
    },
  }),
);
