import type { CommandDefinition, JsonOption } from './command.js';
import { collect, refuseUnknownSubcommands, jsonOption } from './command.js';
import { UsageError } from './format.js';
import { compareRuns, listRuns, showRun } from './runs.js';

/** Flags of `mlops runs list`. */
interface ListFlags extends JsonOption {
  experiment?: string[];
  filter?: string;
  orderBy?: string[];
  max: string;
}

/** `mlops runs list|show|compare`: experiment runs, read from the tracking store. */
export const runsCommand: CommandDefinition = (program, { context, io }) => {
  const runs = refuseUnknownSubcommands(program.command('runs').description('experiment runs logged with the tracking SDK or API'));
  runs
    .command('list')
    .description('runs matching a filter, newest first unless ordered otherwise')
    .option('--experiment <name>', 'only runs of this experiment (repeatable)', collect)
    .option('--filter <expression>', 'such as "metrics.auc > 0.8 and params.lr = 0.1"')
    .option('--order-by <key>', 'such as "metrics.auc desc" (repeatable)', collect)
    .option('--max <n>', 'at most this many runs', '100')
    .addOption(jsonOption())
    .action(async (flags: ListFlags) => {
      const maxResults = Number(flags.max);
      if (!Number.isInteger(maxResults) || maxResults < 1) throw new UsageError('--max expects a whole number from 1 up.');
      const search = { experiments: flags.experiment, filter: flags.filter, orderBy: flags.orderBy, maxResults };
      io.print(await listRuns(context(), search, { json: flags.json ?? false }));
    });
  runs
    .command('show')
    .argument('<run-id>', 'the run id')
    .description("a run's params, latest metrics, tags, artifacts and the model versions made from it")
    .addOption(jsonOption())
    .action(async (runId: string, { json = false }: JsonOption) => io.print(await showRun(context(), runId, { json })));
  runs
    .command('compare')
    .argument('<run-ids...>', 'two or more run ids')
    .description('params and metrics of runs side by side; * marks the rows that differ')
    .addOption(jsonOption())
    .action(async (runIds: string[], { json = false }: JsonOption) => io.print(await compareRuns(context(), runIds, { json })));
};
