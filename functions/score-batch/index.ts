import { join } from 'node:path';
import * as ff from '@google-cloud/functions-framework';
import { type BatchScored, BatchScoringRequested } from '../../shared/domain/events.js';
import { TOPICS } from '../../shared/domain/topics.js';
import { log, platform, topicHandler } from '../../shared/runtime/index.js';
import { scoreBatch } from '../../shared/services/score-batch.js';
import { loadServingModel } from '../../shared/services/serving-model.js';

/** The outcome on batch-scored, which `mlops score` waits for. */
const outcome = (request: BatchScoringRequested, fields: Partial<BatchScored> & { seconds: number }): BatchScored => ({
  schemaVersion: 1,
  requestId: request.requestId,
  model: request.model,
  dataset: request.dataset,
  version: null,
  status: 'succeeded',
  rowsScored: 0,
  ...fields,
});

ff.cloudEvent(
  'scoreBatch',
  topicHandler(platform, {
    functionName: 'score-batch',
    topic: TOPICS.batchScoring,
    schema: BatchScoringRequested,
    replyTopic: TOPICS.batchScored,
    failureReply: ({ event, error, seconds }) => outcome(event, { status: 'failed', error: error.message, seconds }),
    handle: async (request) => {
      const p = platform();
      const started = performance.now();
      const deps = {
        registry: await p.registry(),
        artifacts: await p.artifacts(),
        runner: await p.modelRunner(),
        cacheDir: join(p.config.dataDir, 'model-cache'),
      };
      const target = request.version === undefined ? { model: request.model, alias: request.alias } : { model: request.model, version: request.version };
      const model = await loadServingModel(target, deps);
      const report = await scoreBatch({ dataset: request.dataset, warehouse: await p.warehouse(), model, range: request.shard });
      await model.loaded.close();
      log('INFO', `scored ${report.rowsScored} rows of ${request.dataset} with ${report.model} v${report.version}`, { function: 'score-batch', ...report });
      return outcome(request, { version: report.version, rowsScored: report.rowsScored, seconds: (performance.now() - started) / 1000 });
    },
  }),
);
