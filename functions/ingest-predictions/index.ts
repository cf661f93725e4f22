import * as ff from '@google-cloud/functions-framework';
import { PredictionsLogged } from '../../shared/domain/events.js';
import { log, platform, topicHandler } from '../../shared/runtime/index.js';
import { ingestPredictions } from '../../shared/services/ingest.js';

ff.cloudEvent(
  'ingestPredictions',
  topicHandler(platform, {
    functionName: 'ingest-predictions',
    topic: 'predictions',
    schema: PredictionsLogged,
    handle: async (event) => {
      const { inserted, duplicates } = await ingestPredictions(event, await platform().warehouse());
      log('INFO', `ingested ${inserted} predictions${duplicates ? `, ${duplicates} already stored` : ''}`, {
        function: 'ingest-predictions',
        inserted,
        duplicates,
      });
    },
  }),
);
