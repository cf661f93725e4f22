import { randomUUID } from 'node:crypto';
import { PlatformError } from '../../shared/domain/errors.js';
import { BatchScored, type BatchScoringRequested } from '../../shared/domain/events.js';
import { validateModelName } from '../../shared/domain/names.js';
import { TOPICS } from '../../shared/domain/topics.js';
import type { CommandDefinition, JsonOption } from './command.js';
import { need, jsonOption } from './command.js';
import { requestOutcome } from './context.js';
import { table } from './format.js';

/** Flags of `mlops score`. */
interface ScoreOptions extends JsonOption {
  model?: string;
  alias: string;
  timeout: string;
}

/** `mlops score <dataset> --model <name>`: batch scoring with the model's served version, waiting for the result. */
export const scoreCommand: CommandDefinition = (program, { context, io }) => {
  program
    .command('score')
    .argument('<dataset>', 'an offline_features dataset id')
    .description('score a dataset with the version an alias points at (predictions marked source=batch), and wait for the result')
    .option('--model <name>', 'the model to score with (required)')
    .option('--alias <alias>', 'the alias whose version scores', 'production')
    .option('--timeout <seconds>', 'how long to wait for the result', '600')
    .addOption(jsonOption())
    .action(async (dataset: string, options: ScoreOptions) => {
      const request: BatchScoringRequested = {
        schemaVersion: 1,
        requestId: randomUUID(),
        model: validateModelName(need(options.model, '--model <name>', 'score')),
        dataset,
        alias: options.alias,
      };
      // score-batch replies on batch-scored (its topic handler's reply topic).
      const result = await requestOutcome(context(), TOPICS.batchScoring, request, {
        replyTopic: TOPICS.batchScored,
        schema: BatchScored,
        correlationId: request.requestId,
        timeoutMs: Number(options.timeout) * 1000,
      });
      if (options.json) return io.print(JSON.stringify(result, null, 2));
      if (result.status === 'failed') throw new PlatformError('BATCH.FAILED', `Batch scoring failed: ${result.error}`);
      io.print(
        table(
          ['DATASET', 'MODEL', 'VERSION', 'ROWS', 'SECONDS'],
          [[result.dataset, result.model, result.version, result.rowsScored, result.seconds.toFixed(1)]],
        ),
      );
    });
};
