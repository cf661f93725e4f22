import { createHash } from 'node:crypto';
import { BigQueryDate, BigQueryDatetime, BigQueryTime, BigQueryTimestamp, type TableField, type TableMetadata } from '@google-cloud/bigquery';
import type { ColumnType, TableSchema } from '../../domain/tables.js';
import type { Row } from '../../ports/warehouse.port.js';
import { parseTimestamp, rowKey } from '../warehouse-common/index.js';

/** Google recommends at most 500 rows per streaming insert request. */
export const INSERT_BATCH_SIZE = 500;

/** One row of a raw `tabledata.insertAll` request. */
export interface InsertAllRow {
  /** BigQuery drops a second row with the same insertId seen within about a minute (best effort). */
  insertId: string;
  json: Record<string, unknown>;
}

/** The BigQuery table resource for a schema: REQUIRED/NULLABLE fields, DAY partitioning, clustering. */
export function tableResource(schema: TableSchema): TableMetadata {
  return {
    description: schema.description,
    schema: {
      fields: schema.columns.map((column) => ({
        name: column.name,
        type: column.type,
        mode: column.required ? 'REQUIRED' : 'NULLABLE',
        description: column.description,
      })),
    },
    ...(schema.partitionBy && { timePartitioning: { type: 'DAY', field: schema.partitionBy } }),
    ...(schema.clusterBy?.length && { clustering: { fields: schema.clusterBy } }),
  };
}

/**
 * The schema's optional fields a table's present fields lack: what an older release's table needs
 * added. Required fields are never among them (BigQuery cannot add a REQUIRED field to a table with rows).
 */
export function missingFields(present: TableField[], schema: TableSchema): TableField[] {
  const names = new Set(present.map((field) => field.name));
  return (tableResource(schema).schema?.fields ?? []).filter((field) => field.mode !== 'REQUIRED' && !names.has(field.name));
}

/** A stable insertId for a row: the same key always gives the same id, within the 128-character limit. */
export function insertIdFor(schema: TableSchema, row: Row): string {
  return createHash('sha256')
    .update(`${schema.name}:${rowKey(schema, row)}`)
    .digest('hex');
}

function toStreamingValue(type: ColumnType, value: unknown): unknown {
  if (type === 'JSON') return JSON.stringify(value); // insertAll takes JSON columns as JSON text
  if (type === 'TIMESTAMP') return parseTimestamp(value)?.toISOString() ?? value;
  if (type === 'INT64' && typeof value === 'bigint') return value.toString(); // JSON has no 64-bit integers
  return value;
}

function toStreamingRow(schema: TableSchema, row: Row): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  for (const column of schema.columns) {
    const value = row[column.name];
    if (value !== undefined) json[column.name] = value === null ? null : toStreamingValue(column.type, value);
  }
  return json;
}

/** Rows for `table.insert(rows, { raw: true })`, each with its key-derived insertId. */
export function insertAllRows(schema: TableSchema, rows: Row[]): InsertAllRow[] {
  return rows.map((row) => ({ insertId: insertIdFor(schema, row), json: toStreamingRow(schema, row) }));
}

/** Splits rows into request-sized batches. */
export function inBatches<T>(items: T[], size = INSERT_BATCH_SIZE): T[][] {
  const batches: T[][] = [];
  for (let start = 0; start < items.length; start += size) batches.push(items.slice(start, start + size));
  return batches;
}

/**
 * SQL reading one row per key, since streaming insertId dedupe is best effort. Copies of a key are
 * redeliveries of the same row, so which one wins does not matter. `where` filters inside, so
 * partition pruning still applies. The table is left as `{{table}}` for the warehouse to qualify.
 */
export function dedupedSelect(schema: TableSchema, { where }: { where?: string } = {}): string {
  const key = schema.key.map((name) => `\`${name}\``).join(', ');
  const filter = where ? ` WHERE ${where}` : '';
  return (
    'SELECT * EXCEPT(copy_number) FROM (' +
    `SELECT *, ROW_NUMBER() OVER (PARTITION BY ${key}) AS copy_number FROM {{${schema.name}}}${filter}` +
    ') WHERE copy_number = 1'
  );
}

/** Replaces each `{{table}}` with the backtick-quoted `project.dataset.table`. */
export function qualify(sql: string, projectId: string, dataset: string): string {
  return sql.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, table: string) => `\`${projectId}.${dataset}.${table}\``);
}

/** A query result value as plain JS: timestamps as ISO strings (like DuckDB), dates and times as text. */
export function fromBigQueryValue(value: unknown): unknown {
  if (value instanceof BigQueryTimestamp) return parseTimestamp(value.value)?.toISOString() ?? value.value;
  if (value instanceof BigQueryDate || value instanceof BigQueryDatetime || value instanceof BigQueryTime) return value.value;
  if (Array.isArray(value)) return value.map(fromBigQueryValue);
  if (value !== null && typeof value === 'object' && value.constructor === Object) return fromBigQueryRow(value as Row);
  return value;
}

/** A query result row as plain JS. */
export function fromBigQueryRow(row: Row): Row {
  return Object.fromEntries(Object.entries(row).map(([name, value]) => [name, fromBigQueryValue(value)]));
}
