import { join } from 'node:path';
import * as ff from '@google-cloud/functions-framework';
import { isPlatformError } from '../../shared/domain/errors.js';
import { type BatchScored, BatchScoringRequested } from '../../shared/domain/events.js';
import { TOPICS } from '../../shared/domain/topics.js';
import { log, platform, topicHandler } from '../../shared/runtime/index.js';
import { scoreBatch } from '../../shared/services/score-batch.js';
import { loadServingModel } from '../../shared/services/serving-model.js';

ff.cloudEvent(
  'scoreBatch',
  topicHandler(platform, {
    functionName: 'score-batch',
    topic: 'batch-scoring',
    schema: BatchScoringRequested,
    handle: async (request) => {
      const p = platform();
      const started = performance.now();
      const result = (fields: Partial<BatchScored>): BatchScored => ({
        schemaVersion: 1,
        requestId: request.requestId,
        model: request.model,
        dataset: request.dataset,
        version: null,
        status: 'succeeded',
        rowsScored: 0,
        seconds: (performance.now() - started) / 1000,
        ...fields,
      });
      try {
        const deps = {
          registry: await p.registry(),
          artifacts: await p.artifacts(),
          runner: await p.modelRunner(),
          cacheDir: join(p.config.dataDir, 'model-cache'),
        };
        const model = await loadServingModel({ model: request.model, alias: request.alias }, deps);
        const report = await scoreBatch({ dataset: request.dataset, warehouse: await p.warehouse(), model });
        await model.loaded.close();
        log('INFO', `scored ${report.rowsScored} rows of ${request.dataset} with ${report.model} v${report.version}`, { function: 'score-batch', ...report });
        await p.eventBus().publish(TOPICS.batchScored, result({ version: report.version, rowsScored: report.rowsScored }));
      } catch (error) {
        // A permanent failure is reported to whoever waits; a transient one is retried by Pub/Sub.
        if (isPlatformError(error) && error.permanent) await p.eventBus().publish(TOPICS.batchScored, result({ status: 'failed', error: error.message }));
        throw error;
      }
    },
  }),
);
