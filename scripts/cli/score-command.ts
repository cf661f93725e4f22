import { randomUUID } from 'node:crypto';
import { PubSub } from '@google-cloud/pubsub';
import { PlatformError } from '../../shared/domain/errors.js';
import { BatchScored, type BatchScoringRequested } from '../../shared/domain/events.js';
import { validateModelName } from '../../shared/domain/names.js';
import { TOPICS } from '../../shared/domain/topics.js';
import type { CommandDefinition, JsonOption } from './command.js';
import { need, jsonOption } from './command.js';
import type { CliContext } from './context.js';
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
      const result = await requestAndWait(context(), request, Number(options.timeout) * 1000);
      if (options.json) return io.print(JSON.stringify(result, null, 2));
      if (result.status === 'failed') throw new PlatformError('REGISTRY.VERSION_NOT_FOUND', `Batch scoring failed: ${result.error}`);
      io.print(
        table(
          ['DATASET', 'MODEL', 'VERSION', 'ROWS', 'SECONDS'],
          [[result.dataset, result.model, result.version, result.rowsScored, result.seconds.toFixed(1)]],
        ),
      );
    });
};

/** Publishes the request on batch-scoring and waits for its outcome on batch-scored. */
async function requestAndWait(context: CliContext, request: BatchScoringRequested, timeoutMs: number): Promise<BatchScored> {
  const pubsub = new PubSub({ projectId: context.platform.config.projectId });
  const [subscription] = await pubsub.topic(TOPICS.batchScored).createSubscription(`cli-score-${request.requestId}`);
  try {
    const outcome = new Promise<BatchScored>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new PlatformError('EVENT.INVALID', `No result within ${timeoutMs / 1000} s; the run may still finish.`, { permanent: false })),
        timeoutMs,
      );
      subscription.on('message', (message) => {
        message.ack();
        const parsed = BatchScored.safeParse(JSON.parse(message.data.toString()));
        if (parsed.success && parsed.data.requestId === request.requestId) {
          clearTimeout(timer);
          resolve(parsed.data);
        }
      });
    });
    await context.platform.eventBus().publish(TOPICS.batchScoring, request);
    return await outcome;
  } finally {
    await subscription.delete().catch(() => undefined);
    await pubsub.close();
  }
}
