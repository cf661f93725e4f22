import type { CliCommand } from './command.js';
import { flags, need } from './command.js';
import { UsageError } from './format.js';
import { compareRuns, listRuns, showRun } from './runs.js';

/** `mlops runs list|show|compare`: experiment runs, read from the tracking store. */
export const runsCommand: CliCommand = {
  usage: [
    'mlops runs list [--experiment NAME]... [--filter "metrics.auc > 0.8 and params.lr = 0.1"] [--order-by "metrics.auc desc"]...',
    '                [--max N] [--json]',
    'mlops runs show <run id> [--json]',
    'mlops runs compare <run id> <run id>... [--json]',
  ],
  async run(context, argv, io) {
    const { values, positionals } = flags(argv, {
      experiment: { type: 'string', multiple: true },
      filter: { type: 'string' },
      'order-by': { type: 'string', multiple: true },
      max: { type: 'string', default: '100' },
    });
    const [sub, ...ids] = positionals;
    const json = values.json;
    if (sub === 'list') {
      const maxResults = Number(values.max);
      if (!Number.isInteger(maxResults) || maxResults < 1) throw new UsageError('--max expects a whole number from 1 up.');
      io.print(await listRuns(context, { experiments: values.experiment, filter: values.filter, orderBy: values['order-by'], maxResults }, { json }));
    } else if (sub === 'show') io.print(await showRun(context, need(ids[0], 'the run id'), { json }));
    else if (sub === 'compare') io.print(await compareRuns(context, ids, { json }));
    else throw new UsageError(`Unknown "runs ${sub ?? ''}": use list, show or compare.`);
  },
};
