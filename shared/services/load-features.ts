import { PlatformError } from '../domain/errors.js';
import { DEFAULT_EVENT_TIME_COLUMN, type EventTimeSource, type FeatureRow, parseCsvLine, parseJsonLine, splitCsvLine } from '../domain/feature-rows.js';
import type { Warehouse } from '../ports/warehouse.port.js';

/** Outcome of a features load: good rows load, bad ones are reported by line number. */
export interface FeaturesLoadReport {
  dataset: string;
  loaded: number;
  duplicates: number;
  rejectedCount: number;
  /** The first rejected lines, with why (capped so a bad file cannot flood the answer). */
  rejected: { line: number; reason: string }[];
  /** The column event times were read from. */
  eventTimeColumn: string;
  /** Rows without that column, which took the load time as their event time. */
  defaultedEventTimes: number;
  /** When this load ran: the loaded_at of every row, and the event time of defaulted ones. */
  loadedAt: string;
}

/** What to load: the dataset, the file's format, and (optionally) the column holding event times. */
export interface LoadFeaturesOptions {
  dataset: string;
  format: 'csv' | 'jsonl';
  /** Named by the caller: rows must have it. Without it, event_time is read, and rows lacking it take the load time. */
  eventTimeColumn?: string;
}

const CHUNK_ROWS = 5000;
const REPORTED_REJECTIONS = 100;

/**
 * Streams a CSV (header first) or JSON Lines file into offline_features in chunks, so memory
 * does not grow with the file. Keyed by (dataset, entity, event time): loading a file twice adds
 * nothing, unless its rows took the load time as event time. A CSV header without entity_id (or
 * without a named event time column) is refused whole: FEATURES.INVALID_FILE.
 */
export async function loadFeatures(
  lines: AsyncIterable<string>,
  { dataset, format, eventTimeColumn }: LoadFeaturesOptions,
  warehouse: Warehouse,
): Promise<FeaturesLoadReport> {
  const loadedAt = new Date().toISOString();
  const eventTime: EventTimeSource = { column: eventTimeColumn ?? DEFAULT_EVENT_TIME_COLUMN, fallback: eventTimeColumn ? undefined : loadedAt };
  const report: FeaturesLoadReport = {
    dataset,
    loaded: 0,
    duplicates: 0,
    rejectedCount: 0,
    rejected: [],
    eventTimeColumn: eventTime.column,
    defaultedEventTimes: 0,
    loadedAt,
  };
  const chunk = new ChunkedInsert(warehouse, report);
  let header: string[] | undefined;
  let number = 0;
  for await (const text of lines) {
    number++;
    if (text.trim() === '') continue;
    if (format === 'csv' && !header) {
      header = readHeader(text, number, eventTime);
      continue;
    }
    const parsed = format === 'csv' ? parseCsvLine(dataset, header!, text, number, eventTime) : parseJsonLine(dataset, text, number, eventTime);
    if (parsed.ok) await chunk.add(parsed, loadedAt);
    else refuse(report, parsed);
  }
  await chunk.flush();
  return report;
}

/** The CSV header's column names; a header that names no entity_id is most likely a first data row. */
function readHeader(text: string, line: number, eventTime: EventTimeSource): string[] {
  const names = splitCsvLine(text)?.map((name) => name.trim()) ?? [];
  if (!names.includes('entity_id'))
    throw new PlatformError(
      'FEATURES.INVALID_FILE',
      `Line ${line} is not a CSV header naming entity_id (got ${JSON.stringify(text.slice(0, 80))}): the first line must name the columns, such as entity_id,${DEFAULT_EVENT_TIME_COLUMN},<features>...`,
    );
  if (eventTime.fallback === undefined && !names.includes(eventTime.column))
    throw new PlatformError(
      'FEATURES.INVALID_FILE',
      `The CSV header names no ${eventTime.column} column (the event time column asked for); it has ${names.join(', ')}.`,
    );
  return names;
}

function refuse(report: FeaturesLoadReport, refusal: { line: number; reason: string }): void {
  report.rejectedCount++;
  if (report.rejected.length < REPORTED_REJECTIONS) report.rejected.push(refusal);
}

/** Buffers parsed rows and inserts them CHUNK_ROWS at a time, counting into the report. */
class ChunkedInsert {
  private rows: (FeatureRow & { loaded_at: string })[] = [];

  constructor(
    private readonly warehouse: Warehouse,
    private readonly report: FeaturesLoadReport,
  ) {}

  async add(parsed: { row: FeatureRow; defaulted: boolean }, loadedAt: string): Promise<void> {
    if (parsed.defaulted) this.report.defaultedEventTimes++;
    this.rows.push({ ...parsed.row, loaded_at: loadedAt });
    if (this.rows.length >= CHUNK_ROWS) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.rows.length === 0) return;
    const result = await this.warehouse.insert('offline_features', this.rows);
    this.report.loaded += result.inserted;
    this.report.duplicates += result.duplicates;
    this.rows = [];
  }
}

/** Splits a byte stream into text lines without holding the whole stream. */
export async function* linesOf(stream: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let rest = '';
  for await (const bytes of stream) {
    rest += decoder.decode(bytes, { stream: true });
    const parts = rest.split('\n');
    rest = parts.pop()!;
    yield* parts;
  }
  rest += decoder.decode();
  if (rest !== '') yield rest;
}
