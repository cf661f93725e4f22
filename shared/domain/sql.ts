/** The SQL dialect a warehouse speaks, so SQL builders in the domain can target both. */
export type SqlDialect = 'duckdb' | 'bigquery';

/** `column` is one of the values of array parameter `@param`, in either warehouse's SQL. */
export function memberOf(column: string, param: string, dialect: SqlDialect): string {
  return dialect === 'bigquery' ? `${column} IN UNNEST(@${param})` : `list_contains(@${param}, ${column})`;
}
