import { type FeatureRow, type ParsedLine, parseCsvLine, parseJsonLine, splitCsvLine } from '../domain/feature-rows.js';
import type { Warehouse } from '../ports/warehouse.port.js';

/** Outcome of a features load: good rows load, bad ones are reported by line number. */
export interface FeaturesLoadReport {
  dataset: string;
  loaded: number;
  duplicates: number;
  rejectedCount: number;
  /** The first rejected lines, with why (capped so a bad file cannot flood the answer). */
  rejected: { line: number; reason: string }[];
}

const CHUNK_ROWS = 5000;
const REPORTED_REJECTIONS = 100;

/**
 * Streams a CSV (header first) or JSON Lines file into offline_features in chunks, so memory
 * does not grow with the file. Keyed by (dataset, entity, event time): loading a file twice adds nothing.
 */
export async function loadFeatures(
  lines: AsyncIterable<string>,
  { dataset, format }: { dataset: string; format: 'csv' | 'jsonl' },
  warehouse: Warehouse,
): Promise<FeaturesLoadReport> {
  const report: FeaturesLoadReport = { dataset, loaded: 0, duplicates: 0, rejectedCount: 0, rejected: [] };
  let chunk: (FeatureRow & { loaded_at: string })[] = [];
  let header: string[] | undefined;
  let number = 0;
  const loadedAt = new Date().toISOString();
  const flush = async () => {
    if (chunk.length === 0) return;
    const result = await warehouse.insert('offline_features', chunk);
    report.loaded += result.inserted;
    report.duplicates += result.duplicates;
    chunk = [];
  };
  for await (const text of lines) {
    number++;
    if (text.trim() === '') continue;
    if (format === 'csv' && !header) {
      header = splitCsvLine(text)?.map((name) => name.trim());
      continue;
    }
    const parsed: ParsedLine = format === 'csv' ? parseCsvLine(dataset, header!, text, number) : parseJsonLine(dataset, text, number);
    if (!parsed.ok) {
      report.rejectedCount++;
      if (report.rejected.length < REPORTED_REJECTIONS) report.rejected.push({ line: parsed.line, reason: parsed.reason });
      continue;
    }
    chunk.push({ ...parsed.row, loaded_at: loadedAt });
    if (chunk.length >= CHUNK_ROWS) await flush();
  }
  await flush();
  return report;
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
