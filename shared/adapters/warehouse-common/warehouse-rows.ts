import { PlatformError } from '../../domain/errors.js';
import type { ColumnSchema, ColumnType, TableSchema } from '../../domain/tables.js';
import type { Row } from '../../ports/warehouse.port.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A timestamp must look like an ISO date: `Date.parse` alone accepts "1" as the year 2001. */
const ISO_DATE_PREFIX = /^\d{4}-\d{2}-\d{2}/;

/** Reads a TIMESTAMP value (a valid Date, or an ISO 8601 string); undefined when it is neither. */
export function parseTimestamp(value: unknown): Date | undefined {
  const date = value instanceof Date ? value : typeof value === 'string' && ISO_DATE_PREFIX.test(value) ? new Date(value) : undefined;
  return date && !Number.isNaN(date.getTime()) ? date : undefined;
}

function isInt64(value: unknown): boolean {
  if (typeof value === 'number') return Number.isSafeInteger(value);
  return typeof value === 'bigint' && value >= INT64_MIN && value <= INT64_MAX;
}

function isJsonValue(value: unknown): boolean {
  try {
    return JSON.stringify(value) !== undefined;
  } catch {
    return false; // circular structures and bigints cannot be stored as JSON
  }
}

/** What each column type accepts; both warehouses apply the same rules so a row valid locally is valid in BigQuery. */
const ACCEPTS: Record<ColumnType, (value: unknown) => boolean> = {
  STRING: (value) => typeof value === 'string',
  INT64: isInt64,
  FLOAT64: (value) => typeof value === 'number',
  BOOL: (value) => typeof value === 'boolean',
  TIMESTAMP: (value) => parseTimestamp(value) !== undefined,
  JSON: isJsonValue,
};

function describeValue(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`;
}

function invalidRow(table: string, rowIndex: number, column: string, problem: string): PlatformError {
  return new PlatformError('WAREHOUSE.INVALID_ROW', `Table "${table}", row ${rowIndex}: column "${column}" ${problem}`, {
    permanent: true, // the same row will fail the same way on every retry
    details: { table, rowIndex, column },
  });
}

function columnProblem(column: ColumnSchema, value: unknown): string | undefined {
  if (value === undefined || value === null) return column.required ? 'is required but missing' : undefined;
  return ACCEPTS[column.type](value) ? undefined : `must be ${column.type}, got ${describeValue(value)}`;
}

function checkRow(schema: TableSchema, row: Row, rowIndex: number): void {
  for (const column of schema.columns) {
    const problem = columnProblem(column, row[column.name]);
    if (problem) throw invalidRow(schema.name, rowIndex, column.name, problem);
  }
  const unknown = Object.keys(row).find((name) => !schema.columns.some((column) => column.name === name));
  if (unknown !== undefined) throw invalidRow(schema.name, rowIndex, unknown, 'is not in the table schema');
}

/**
 * Checks every row before anything is written, so a bad batch writes nothing.
 * Throws a permanent `WAREHOUSE.INVALID_ROW` naming the table, the row index and the column.
 */
export function validateRows(schema: TableSchema, rows: Row[]): void {
  for (const [rowIndex, row] of rows.entries()) checkRow(schema, row, rowIndex);
}

function keyPart(column: ColumnSchema | undefined, value: unknown): unknown {
  if (column?.type === 'TIMESTAMP') return parseTimestamp(value)?.toISOString() ?? value;
  if (column?.type === 'INT64' && (typeof value === 'number' || typeof value === 'bigint')) return value.toString();
  return value;
}

/** A stable string for the row's key columns: a Date and its ISO string, or 5 and 5n, give the same key. */
export function rowKey(schema: TableSchema, row: Row): string {
  const parts = schema.key.map((name) =>
    keyPart(
      schema.columns.find((column) => column.name === name),
      row[name],
    ),
  );
  return JSON.stringify(parts);
}

/** Rows with distinct keys (first occurrence wins) and how many in-batch repeats were dropped. */
export function dedupeByKey(schema: TableSchema, rows: Row[]): { unique: Row[]; duplicates: number } {
  const byKey = new Map<string, Row>();
  for (const row of rows) {
    const key = rowKey(schema, row);
    if (!byKey.has(key)) byKey.set(key, row);
  }
  return { unique: [...byKey.values()], duplicates: rows.length - byKey.size };
}
