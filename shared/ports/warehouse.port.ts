import type { SqlDialect } from '../domain/sql.js';
import type { TableSchema } from '../domain/tables.js';

/** A row as the platform writes it: column name to value (objects go to JSON columns). */
export type Row = Record<string, unknown>;

/** Outcome of an idempotent insert. */
export interface InsertResult {
  /** Rows that were new. */
  inserted: number;
  /** Rows whose key was already present (a redelivery), so nothing was written for them. */
  duplicates: number;
}

/** The analytical store for predictions, ground truth, features and monitoring: BigQuery or DuckDB. */
export interface Warehouse {
  readonly dialect: SqlDialect;
  /** Creates the dataset and any missing table; existing tables are left as they are. */
  ensureTables(tables: TableSchema[]): Promise<void>;
  /** Inserts rows, skipping any whose key (the table's `key` columns) is already stored. */
  insert(table: string, rows: Row[]): Promise<InsertResult>;
  /**
   * Runs a read query. `sql` names tables as `{{table}}` so the adapter can qualify them;
   * `params` bind by name (`@name` in the SQL).
   */
  query<T extends Row = Row>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
  /**
   * Atomically replaces the rows whose columns equal `where` (column to value) with `rows`, each of
   * which must match `where`: re-running a computation rewrites its results instead of adding to
   * them. Meant for result sets of up to a few thousand rows. On BigQuery it is one MERGE statement
   * (DML), which cannot delete rows still in a streaming buffer: use it on tables `insert` never writes.
   */
  replace(table: string, where: Row, rows: Row[]): Promise<void>;
  close(): Promise<void>;
}
