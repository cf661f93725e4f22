import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ENV } from '../../shared/config/env.js';
import { PlatformError } from '../../shared/domain/errors.js';
import { BatchScored, type BatchScoringRequested } from '../../shared/domain/events.js';
import { validateModelName } from '../../shared/domain/names.js';
import { TOPICS } from '../../shared/domain/topics.js';
import { loadServingModel } from '../../shared/services/serving-model.js';
import {
  type WarehouseScoringPlan,
  type WarehouseScoringReport,
  planWarehouseScoring,
  runFanOut,
  runsStatements,
  scoreWithBigQueryMl,
} from '../../shared/services/warehouse-scoring.js';
import type { CliIo, CommandDefinition, JsonOption } from './command.js';
import { need, jsonOption } from './command.js';
import { type CliContext, requestOutcome } from './context.js';
import { UsageError, table } from './format.js';

/** Flags of `mlops score`. */
interface ScoreOptions extends JsonOption {
  model?: string;
  alias: string;
  timeout: string;
  plan?: boolean;
  fanOut?: boolean;
  rowsPerSecond: string;
}

// BENCHMARKS.md, "Batch scoring": the small model scores ~30,000 rows/s in one process on DuckDB.
const MEASURED_ROWS_PER_SECOND = '30000';

/**
 * `mlops score <dataset> --model <name>`: batch scoring with the model's served version. On BigQuery it scores
 * inside BigQuery ML when the version qualifies, else fans out into shards; locally one score-batch run does it all.
 */
export const scoreCommand: CommandDefinition = (program, { context, io }) => {
  program
    .command('score')
    .argument('<dataset>', 'an offline_features dataset id')
    .description('score a dataset with the version an alias points at (predictions marked source=batch), and wait for the result')
    .option('--model <name>', 'the model to score with (required)')
    .option('--alias <alias>', 'the alias whose version scores', 'production')
    .option('--timeout <seconds>', 'how long to wait for the result', '600')
    .option('--plan', 'print how the dataset would be scored (BigQuery ML statements, or the shards) without scoring')
    .option('--fan-out', 'score in entity-range shards, one score-batch message each, even where one run or BigQuery ML would do')
    .option('--rows-per-second <n>', 'rows one score-batch instance scores per second, to size shards under the 9-minute limit', MEASURED_ROWS_PER_SECOND)
    .addOption(jsonOption())
    .action(async (dataset: string, options: ScoreOptions) => {
      const model = validateModelName(need(options.model, '--model <name>', 'score'));
      const cli = context();
      const warehouseScale = options.plan || options.fanOut || cli.platform.config.warehouse.type === 'bigquery';
      if (!warehouseScale) return printOutcome(io, options, await scoreInOneRun(cli, dataset, model, options));
      const plan = await planRun(cli, dataset, model, options);
      if (options.plan) return io.print(options.json ? JSON.stringify(plan, null, 2) : planText(plan));
      const report = await runPlan(cli, plan, Number(options.timeout) * 1000);
      io.print(options.json ? JSON.stringify(report, null, 2) : reportTable(report));
    });
};

/** The local default: one request on batch-scoring, answered by the score-batch function on batch-scored. */
function scoreInOneRun(cli: CliContext, dataset: string, model: string, options: ScoreOptions): Promise<BatchScored> {
  const request: BatchScoringRequested = { schemaVersion: 1, requestId: randomUUID(), model, dataset, alias: options.alias };
  return requestOutcome(cli, TOPICS.batchScoring, request, {
    replyTopic: TOPICS.batchScored,
    schema: BatchScored,
    correlationId: request.requestId,
    timeoutMs: Number(options.timeout) * 1000,
  });
}

function printOutcome(io: CliIo, options: ScoreOptions, result: BatchScored): void {
  if (options.json) {
    io.print(JSON.stringify(result, null, 2));
    return;
  }
  if (result.status === 'failed') throw new PlatformError('BATCH.FAILED', `Batch scoring failed: ${result.error}`);
  io.print(
    table(['DATASET', 'MODEL', 'VERSION', 'ROWS', 'SECONDS'], [[result.dataset, result.model, result.version, result.rowsScored, result.seconds.toFixed(1)]]),
  );
}

async function planRun(cli: CliContext, dataset: string, model: string, options: ScoreOptions): Promise<WarehouseScoringPlan> {
  const rowsPerSecond = Number(options.rowsPerSecond);
  if (!(rowsPerSecond > 0)) throw new UsageError(`--rows-per-second must be a positive number, got "${options.rowsPerSecond}". See: mlops score --help`);
  const p = cli.platform;
  const deps = { registry: await p.registry(), artifacts: await p.artifacts(), runner: await p.modelRunner(), cacheDir: join(p.config.dataDir, 'model-cache') };
  const serving = await loadServingModel({ model, alias: options.alias }, deps);
  try {
    return await planWarehouseScoring({ dataset, model: serving, warehouse: await p.warehouse(), sizing: { rowsPerSecond }, fanOut: options.fanOut });
  } finally {
    await serving.loaded.close();
  }
}

async function runPlan(cli: CliContext, plan: WarehouseScoringPlan, timeoutMs: number): Promise<WarehouseScoringReport> {
  if (plan.path === 'fan-out') return runFanOut(plan, { bus: cli.platform.eventBus(), runId: randomUUID(), timeoutMs });
  const warehouse = await cli.platform.warehouse();
  if (!runsStatements(warehouse)) throw new PlatformError('CONFIG.INVALID', `The BigQuery ML path needs the BigQuery warehouse (${ENV.warehouse}=bigquery).`);
  return scoreWithBigQueryMl(plan, warehouse);
}

function planText(plan: WarehouseScoringPlan): string {
  const head = `${plan.model} v${plan.version} over dataset ${plan.dataset}: ${plan.path} (${plan.reason})`;
  if (plan.path === 'bigquery-ml') return [head, '', ...plan.statements.map(({ sql }) => `${sql};\n`)].join('\n');
  const rows = plan.shards.map((shard) => [shard.index + 1, shard.from ?? '(start)', shard.to ?? '(end)', shard.rows]);
  return [
    head,
    `${plan.rows} rows in ${plan.shards.length} shard(s) of at most ~${plan.shardRows} rows`,
    '',
    table(['SHARD', 'FROM', 'TO (EXCLUDED)', 'ROWS'], rows),
  ].join('\n');
}

function reportTable(report: WarehouseScoringReport): string {
  return table(
    ['DATASET', 'MODEL', 'VERSION', 'PATH', 'SHARDS', 'ROWS WRITTEN'],
    [[report.dataset, report.model, report.version, report.path, report.shards, report.rowsScored]],
  );
}
