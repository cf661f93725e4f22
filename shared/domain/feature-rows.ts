/**
 * One parsed line of a features file: a row for offline_features (`defaulted` when its event time is
 * the load time), or why the line was refused.
 */
export type ParsedLine = { ok: true; row: FeatureRow; defaulted: boolean } | { ok: false; line: number; reason: string };

/** A row of the offline_features table (without loaded_at, which the loader sets). */
export type FeatureRow = {
  dataset_id: string;
  entity_id: string;
  event_time: string;
  features: Record<string, unknown>;
};

/** Splits one CSV line into fields (RFC 4180 quoting; a quoted field may not span lines here). */
export function splitCsvLine(line: string): string[] | undefined {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let index = 0; index < line.length; index++) {
    const char = line[index]!;
    if (quoted) {
      if (char === '"' && line[index + 1] === '"') {
        field += '"';
        index++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"' && field === '') quoted = true;
    else if (char === ',') {
      fields.push(field);
      field = '';
    } else field += char;
  }
  if (quoted) return undefined;
  fields.push(field.replace(/\r$/, ''));
  return fields;
}

/** Reads a CSV feature value: numbers as numbers, true/false as booleans, empty as null, else text. */
function csvValue(text: string): unknown {
  if (text === '') return null;
  if (text === 'true' || text === 'false') return text === 'true';
  const number = Number(text);
  return Number.isFinite(number) && /^[\s+-]?[\d.]/.test(text) ? number : text;
}

/** The column that holds a row's event time, and the time a row without that column takes. */
export interface EventTimeSource {
  column: string;
  /** The load time, for rows that lack the column; without it such rows are refused. */
  fallback?: string;
}

/** The column read when none is named. */
export const DEFAULT_EVENT_TIME_COLUMN = 'event_time';

/** Builds a row from named values, checking the entity id and the event time. */
export function featureRow(
  dataset: string,
  values: Record<string, unknown>,
  line: number,
  { column, fallback }: EventTimeSource = { column: DEFAULT_EVENT_TIME_COLUMN },
): ParsedLine {
  const { entity_id: entity, [column]: given, ...features } = values;
  if (entity === undefined || entity === null || entity === '') return { ok: false, line, reason: 'entity_id is missing' };
  const defaulted = given === undefined && fallback !== undefined;
  const time = defaulted ? fallback : given;
  if (time === undefined) return { ok: false, line, reason: `${column} is missing` };
  if (typeof time !== 'string' || Number.isNaN(Date.parse(time)))
    return { ok: false, line, reason: `${column} ${JSON.stringify(time ?? null)} is not an ISO 8601 time` };
  if (Object.keys(features).length === 0) return { ok: false, line, reason: 'the row has no feature columns' };
  return { ok: true, row: { dataset_id: dataset, entity_id: String(entity), event_time: new Date(time).toISOString(), features }, defaulted };
}

/** Parses one CSV data line against its header. */
export function parseCsvLine(dataset: string, header: string[], text: string, line: number, eventTime?: EventTimeSource): ParsedLine {
  const fields = splitCsvLine(text);
  if (!fields) return { ok: false, line, reason: 'an opening quote is never closed' };
  if (fields.length !== header.length) return { ok: false, line, reason: `has ${fields.length} fields, the header has ${header.length}` };
  return featureRow(dataset, Object.fromEntries(header.map((name, index) => [name, csvValue(fields[index]!)])), line, eventTime);
}

/** Parses one JSON Lines line: an object with entity_id, an event time and feature fields. */
export function parseJsonLine(dataset: string, text: string, line: number, eventTime?: EventTimeSource): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, line, reason: `is not valid JSON (${(error as Error).message})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, line, reason: 'is not a JSON object' };
  return featureRow(dataset, value as Record<string, unknown>, line, eventTime);
}
