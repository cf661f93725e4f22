import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { FeaturesLoadReport } from '../../shared/services/load-features.js';
import type { CliIo, CommandDefinition, JsonOption } from './command.js';
import { need, refuseUnknownSubcommands, jsonOption } from './command.js';
import type { CliContext } from './context.js';
import { ReportedFailure, printRefusals } from './format.js';
import { callFunction } from './http.js';
import { fileFormat } from './input-file.js';

/** Flags of `mlops features load`. */
interface LoadOptions extends JsonOption {
  dataset?: string;
  eventTimeColumn?: string;
}

/** `mlops features load <file> --dataset <id>`: streams a features file into offline_features. */
export const featuresCommand: CommandDefinition = (program, { context, io }) => {
  const features = refuseUnknownSubcommands(program.command('features').description('offline features: the reference data drift compares with'));
  features
    .command('load')
    .argument('<file>', 'a .csv (header first), .jsonl or .parquet file with entity_id, event_time and feature columns')
    .description('load a features file into offline_features as one dataset; loading it again adds nothing')
    .option('--dataset <id>', 'the dataset id to load into (required)')
    .option('--event-time-column <name>', "the column holding each row's event time (default: event_time; rows without one take the load time)")
    .addHelpText('after', '\nExit code 0 when any row was loaded (refused lines are listed), 1 when none was or the file is unusable.')
    .addOption(jsonOption())
    .action(async (file: string, options: LoadOptions) => {
      const dataset = need(options.dataset, '--dataset <id>', 'features load');
      const format = fileFormat(file, ['csv', 'jsonl', 'parquet']);
      const body = format === 'parquet' ? parquetAsJsonLines(context(), file) : createReadStream(file);
      const query = new URLSearchParams({ dataset, format: format === 'parquet' ? 'jsonl' : format });
      if (options.eventTimeColumn) query.set('eventTimeColumn', options.eventTimeColumn);
      const report = await callFunction<FeaturesLoadReport>(context(), 'data-api', `/features?${query}`, {
        method: 'POST',
        body: Readable.toWeb(body) as ReadableStream,
        duplex: 'half',
      });
      if (options.json) io.print(JSON.stringify(report, null, 2));
      else printLoad(report, io);
      refuseWhenNothingLoaded(file, report);
    });
};

function printLoad(report: FeaturesLoadReport, io: CliIo): void {
  const present = report.duplicates ? ` (${report.duplicates} already present)` : '';
  io.print(`loaded ${report.loaded} rows into dataset ${report.dataset}${present}; refused ${report.rejectedCount}${report.rejectedCount ? ':' : ''}`);
  printRefusals(io.print, report.rejected, report.rejectedCount);
  if (report.defaultedEventTimes > 0)
    io.print(
      `event time: ${report.defaultedEventTimes} rows have no ${report.eventTimeColumn} and took the load time ${report.loadedAt}, ` +
        'so loading the file again adds them again (name the time column with --event-time-column)',
    );
}

function refuseWhenNothingLoaded(file: string, report: FeaturesLoadReport): void {
  const stored = report.loaded + report.duplicates;
  if (stored > 0) return;
  if (report.rejectedCount === 0) throw new ReportedFailure(`${file} holds no feature rows.`);
  throw new ReportedFailure(`no row of ${file} was loaded: all ${report.rejectedCount} were refused.`);
}

/** Parquet is read on this machine (the runtime's embedded DuckDB) and sent on as JSON Lines, row group by row group. */
function parquetAsJsonLines(context: CliContext, file: string): Readable {
  async function* lines() {
    for await (const row of context.platform.parquetRows(file)) yield `${JSON.stringify(row)}\n`;
  }
  return Readable.from(lines());
}
