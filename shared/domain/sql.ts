import type { SqlDialect } from '../ports/warehouse.port.js';

/** `column` is one of the values of array parameter `@param`, in either warehouse's SQL. */
export function memberOf(column: string, param: string, dialect: SqlDialect): string {
  return dialect === 'bigquery' ? `${column} IN UNNEST(@${param})` : `list_contains(@${param}, ${column})`;
}
