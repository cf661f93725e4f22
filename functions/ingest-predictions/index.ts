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
      const { inserted, duplicates, outcomes } = await ingestPredictions(event, await platform().warehouse());
      const counted = outcomes ? `, ${outcomes} request outcome counts` : '';
      log('INFO', `ingested ${inserted} predictions${duplicates ? `, ${duplicates} already stored` : ''}${counted}`, {
        function: 'ingest-predictions',
        inserted,
        duplicates,
        outcomes,
      });
    },
  }),
);
