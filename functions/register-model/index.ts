import * as ff from '@google-cloud/functions-framework';
import { GcsObjectNotification } from '../../shared/domain/events.js';
import { log, platform, topicHandler } from '../../shared/runtime/index.js';
import { registerModel } from '../../shared/services/register-model.js';

ff.cloudEvent(
  'registerModel',
  topicHandler(platform, {
    functionName: 'register-model',
    topic: 'model-artifacts',
    schema: GcsObjectNotification,
    handle: async (object) => {
      const p = platform();
      const outcome = await registerModel(object, {
        artifacts: await p.artifacts(),
        registry: await p.registry(),
        runner: await p.modelRunner(),
        bus: p.eventBus(),
      });
      log(
        'INFO',
        outcome.kind === 'registered'
          ? `${outcome.version.model} version ${outcome.version.version} ready${outcome.created ? '' : ' (redelivery)'}`
          : `ignored: ${outcome.reason}`,
        { function: 'register-model' },
      );
    },
  }),
);
