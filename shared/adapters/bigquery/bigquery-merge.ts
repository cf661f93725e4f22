import type { ColumnType, TableSchema } from '../../domain/tables.js';
import type { Row } from '../../ports/warehouse.port.js';
import { checkReplace } from '../warehouse-common/index.js';
import { parseTimestamp } from '../warehouse-common/index.js';

/** How a column is read back from one row of the `@rows` JSON array: scalars travel as JSON strings, so nothing is rounded. */
const READ: Record<ColumnType, (path: string) => string> = {
  STRING: (path) => `JSON_VALUE(row, ${path})`,
  INT64: (path) => `CAST(JSON_VALUE(row, ${path}) AS INT64)`,
  FLOAT64: (path) => `CAST(JSON_VALUE(row, ${path}) AS FLOAT64)`,
  BOOL: (path) => `CAST(JSON_VALUE(row, ${path}) AS BOOL)`,
  TIMESTAMP: (path) => `TIMESTAMP(JSON_VALUE(row, ${path}))`,
  JSON: (path) => `PARSE_JSON(JSON_QUERY(row, ${path}))`,
};

/** One row as JSON for the statement: numbers and timestamps as strings; absent and null values left out (read back as NULL). */
function rowJson(schema: TableSchema, row: Row): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  for (const { name, type } of schema.columns) {
    const value = row[name];
    if (value === undefined || value === null) continue;
    if (type === 'TIMESTAMP') json[name] = parseTimestamp(value)?.toISOString();
    else if (type === 'INT64' || type === 'FLOAT64') json[name] = String(value);
    else json[name] = value;
  }
  return json;
}

/** A `where` value as a query parameter BigQuery types correctly: timestamps as Dates. */
function whereParam(type: ColumnType, value: unknown): unknown {
  return type === 'TIMESTAMP' ? parseTimestamp(value) : value;
}

/**
 * One MERGE that deletes the rows matching `where` and inserts `rows`, atomically (the "replace a
 * slice" pattern: ON FALSE, NOT MATCHED BY SOURCE deletes, NOT MATCHED inserts). The rows go in as one
 * JSON string parameter; the table stays `{{table}}` for the warehouse to qualify.
 */
export function replaceStatement(schema: TableSchema, where: Row, rows: Row[]): { sql: string; params: Record<string, unknown> } {
  const conditions = checkReplace(schema, where, rows);
  const columns = schema.columns.map(({ name }) => `\`${name}\``).join(', ');
  const reads = schema.columns.map(({ name, type }) => `${READ[type](`'$."${name}"'`)} AS \`${name}\``).join(', ');
  const filter = conditions.map(({ name }) => `target.\`${name}\` = @where_${name}`).join(' AND ');
  const sql =
    `MERGE {{${schema.name}}} AS target ` +
    `USING (SELECT ${reads} FROM UNNEST(JSON_QUERY_ARRAY(@rows)) AS row) AS source ON FALSE ` +
    `WHEN NOT MATCHED BY SOURCE AND ${filter} THEN DELETE ` +
    `WHEN NOT MATCHED BY TARGET THEN INSERT (${columns}) VALUES (${columns})`;
  const params: Record<string, unknown> = { rows: JSON.stringify(rows.map((row) => rowJson(schema, row))) };
  for (const { name, type, value } of conditions) params[`where_${name}`] = whereParam(type, value);
  return { sql, params };
}
