import * as ff from '@google-cloud/functions-framework';
import { GroundTruthReceived } from '../../shared/domain/events.js';
import { log, platform, topicHandler } from '../../shared/runtime/index.js';
import { ingestGroundTruth } from '../../shared/services/ingest.js';

ff.cloudEvent(
  'ingestGroundTruth',
  topicHandler(platform, {
    functionName: 'ingest-ground-truth',
    topic: 'ground-truth',
    schema: GroundTruthReceived,
    handle: async (event) => {
      const { inserted, duplicates, unmatched } = await ingestGroundTruth(event, await platform().warehouse());
      log('INFO', `ingested ${inserted} ground truth records (${unmatched} without a prediction yet, ${duplicates} already stored)`, {
        function: 'ingest-ground-truth',
        inserted,
        duplicates,
        unmatched,
      });
    },
  }),
);
