import { createReadStream } from 'node:fs';
import { splitCsvLine } from '../../shared/domain/feature-rows.js';
import { linesOf } from '../../shared/services/load-features.js';
import type { CommandDefinition, JsonOption } from './command.js';
import { jsonOption } from './command.js';
import type { CliContext } from './context.js';
import { ReportedFailure, printRefusals } from './format.js';
import { callFunction } from './http.js';
import { fileFormat } from './input-file.js';

const CHUNK = 5000;
/** Refused lines kept for the report; the rest are counted. */
const KEPT_REFUSALS = 100;

type Refusal = { line: number; reason: string };
type NumberedRecord = { line: number; record: unknown };

/** What `mlops ground-truth` reports: `rejected` holds the first refused lines, `rejectedCount` all of them. */
export interface GroundTruthReport {
  accepted: number;
  rejectedCount: number;
  rejected: Refusal[];
}

/** `mlops ground-truth <file>`: sends observed outcomes; refused lines are printed by number with the reason. */
export const groundTruthCommand: CommandDefinition = (program, { context, io }) => {
  program
    .command('ground-truth')
    .argument('<file>', 'a .csv (header: id and label or value, optional observed_time and attributes.<name>) or .jsonl file')
    .description('send observed outcomes (ground truth) for logged predictions, joined by prediction id')
    .addHelpText('after', '\nExit code 0 when any record was accepted (refused lines are listed), 1 when none was or the file is unusable.')
    .addOption(jsonOption())
    .action(async (file: string, options: JsonOption) => {
      const report = await sendGroundTruth(context(), file, fileFormat(file, ['csv', 'jsonl']));
      if (options.json) io.print(JSON.stringify(report, null, 2));
      else {
        io.print(`accepted ${report.accepted} ground truth records; refused ${report.rejectedCount}${report.rejectedCount ? ':' : ''}`);
        printRefusals(io.print, report.rejected, report.rejectedCount);
      }
      if (report.accepted === 0 && report.rejectedCount === 0) throw new ReportedFailure(`${file} holds no ground truth records.`);
      if (report.accepted === 0) throw new ReportedFailure(`no record of ${file} was accepted: all ${report.rejectedCount} were refused.`);
    });
};

/** Streams the file's records to the data API in chunks, mapping each refusal back to its line. */
async function sendGroundTruth(context: CliContext, file: string, format: string): Promise<GroundTruthReport> {
  const report: GroundTruthReport = { accepted: 0, rejectedCount: 0, rejected: [] };
  let chunk: NumberedRecord[] = [];
  const send = async () => {
    const result = await callFunction<{ accepted: number; rejected: { index: number; reason: string }[] }>(context, 'data-api', '/ground-truth', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chunk.map((entry) => entry.record)),
    });
    report.accepted += result.accepted;
    report.rejectedCount += result.rejected.length;
    const room = KEPT_REFUSALS - report.rejected.length;
    report.rejected.push(...result.rejected.slice(0, Math.max(0, room)).map((refusal) => ({ line: chunk[refusal.index]!.line, reason: refusal.reason })));
    chunk = [];
  };
  for await (const entry of groundTruthRecords(file, format)) {
    chunk.push(entry);
    if (chunk.length >= CHUNK) await send();
  }
  if (chunk.length > 0) await send();
  return report;
}

/** Reads ground truth records with their line numbers from CSV (id,label|value[,observed_time][,attributes.<name>...]) or JSON Lines. */
async function* groundTruthRecords(file: string, format: string): AsyncGenerator<NumberedRecord> {
  let header: string[] | undefined;
  let line = 0;
  for await (const text of linesOf(createReadStream(file))) {
    line++;
    if (text.trim() === '') continue;
    if (format === 'jsonl') yield { line, record: jsonRecord(text) };
    else if (!header) header = csvHeader(file, text);
    else yield { line, record: csvRecord(header, text) };
  }
}

function jsonRecord(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return `invalid JSON: ${text.slice(0, 40)}`;
  }
}

/** The header's column names; a first line without id and label or value is data, not a header. */
function csvHeader(file: string, text: string): string[] {
  const names = (splitCsvLine(text) ?? []).map((field) => field.trim());
  if (!names.includes('id') || !(names.includes('label') || names.includes('value')))
    throw new ReportedFailure(
      `${file}: line 1 is not a header naming id and label or value (got ${JSON.stringify(text.slice(0, 60))}): put the column names first, such as id,label`,
    );
  return names;
}

const ATTRIBUTE_COLUMN = 'attributes.';

/**
 * A CSV line as a record. Sensitive attributes come as `attributes.<name>` columns or as an
 * `attributes` column holding a JSON object; text that is not JSON passes on for the data API to refuse.
 */
function csvRecord(header: string[], text: string): Record<string, unknown> {
  const fields = splitCsvLine(text) ?? [];
  const record: Record<string, unknown> = {};
  const attributes: Record<string, unknown> = {};
  header.forEach((name, index) => {
    const field = fields[index] === '' ? undefined : fields[index];
    if (name.startsWith(ATTRIBUTE_COLUMN)) {
      if (field !== undefined) attributes[name.slice(ATTRIBUTE_COLUMN.length)] = field;
    } else record[name] = field;
  });
  if (typeof record.value === 'string') record.value = Number(record.value);
  if (typeof record.attributes === 'string') record.attributes = jsonOrText(record.attributes);
  if (Object.keys(attributes).length > 0) record.attributes = mergedAttributes(record.attributes, attributes);
  return record;
}

function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The `attributes.<name>` columns over an `attributes` object; anything else in `attributes` is left for the data API to refuse. */
function mergedAttributes(json: unknown, columns: Record<string, unknown>): unknown {
  if (json === undefined) return columns;
  return typeof json === 'object' && json !== null && !Array.isArray(json) ? { ...json, ...columns } : json;
}
