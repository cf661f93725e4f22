import { PlatformError } from '../../domain/errors.js';
import type { ColumnType, TableSchema } from '../../domain/tables.js';
import type { Row } from '../../ports/warehouse.port.js';
import { parseTimestamp } from './warehouse-rows.js';

/** What a `where` value of each column type must be; the same checks on both warehouses. */
const WHERE_ACCEPTS: Record<ColumnType, (value: unknown) => boolean> = {
  STRING: (value) => typeof value === 'string',
  INT64: (value) => Number.isSafeInteger(value) || typeof value === 'bigint',
  FLOAT64: (value) => typeof value === 'number' && Number.isFinite(value),
  BOOL: (value) => typeof value === 'boolean',
  TIMESTAMP: (value) => parseTimestamp(value) !== undefined,
  JSON: () => false,
};

function invalid(table: string, message: string): PlatformError {
  return new PlatformError('WAREHOUSE.INVALID_ROW', `Replace in table "${table}": ${message}`, { permanent: true, details: { table } });
}

/** A value in a form two equal values share: a Date and its ISO string, or 5 and 5n. */
function comparable(type: ColumnType, value: unknown): string {
  if (type === 'TIMESTAMP') return parseTimestamp(value)?.toISOString() ?? String(value);
  if (type === 'INT64') return String(value);
  return JSON.stringify(value);
}

/**
 * Checks a replace before anything is written: `where` names at least one scalar column with a value
 * of its type, and every row matches it (a row outside `where` would never be replaced again).
 * Returns the `where` columns with their types, in order.
 */
export function checkReplace(schema: TableSchema, where: Row, rows: Row[]): { name: string; type: ColumnType; value: unknown }[] {
  const conditions = Object.entries(where).map(([name, value]) => {
    const column = schema.columns.find((candidate) => candidate.name === name);
    if (!column) throw invalid(schema.name, `where names "${name}", which is not a column`);
    if (!WHERE_ACCEPTS[column.type](value)) throw invalid(schema.name, `where "${name}" must be a ${column.type} value, got ${JSON.stringify(value)}`);
    return { name, type: column.type, value };
  });
  if (conditions.length === 0) throw invalid(schema.name, 'where is empty; it would replace the whole table');
  for (const [index, row] of rows.entries()) {
    const outside = conditions.find(({ name, type, value }) => comparable(type, row[name]) !== comparable(type, value));
    if (outside)
      throw invalid(schema.name, `row ${index} has ${outside.name} ${JSON.stringify(row[outside.name])}, outside where ${JSON.stringify(outside.value)}`);
  }
  return conditions;
}
