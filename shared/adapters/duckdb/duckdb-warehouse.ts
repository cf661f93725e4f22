import { resolve } from 'node:path';
import {
  DuckDBInstance,
  DuckDBTypeId,
  JSDuckDBValueConverter,
  listValue,
  timestampTZValue,
  type DuckDBAppender,
  type DuckDBConnection,
  type DuckDBResultReader,
  type DuckDBType,
  type DuckDBValue,
  type DuckDBValueConverter,
  type JS,
} from '@duckdb/node-api';
import { tableSchema, type ColumnType, type TableSchema } from '../../domain/tables.js';
import type { InsertResult, Row, Warehouse } from '../../ports/warehouse.port.js';
import { checkReplace } from '../warehouse-common/index.js';
import { dedupeByKey, parseTimestamp, validateRows } from '../warehouse-common/index.js';

/** Where the DuckDB file lives and which schema stands in for the BigQuery dataset. */
export interface DuckDbWarehouseOptions {
  /** A database file, or ':memory:'. */
  path: string;
  dataset: string;
  /**
   * DuckDB's memory_limit (e.g. '256MB'). Without it DuckDB caches scanned blocks up to 80% of
   * RAM, so a process's peak RSS grows with the data it reads.
   */
  memoryLimit?: string;
}

/** TIMESTAMPTZ stores an instant (UTC micros), like BigQuery's TIMESTAMP. */
const SQL_TYPES: Record<ColumnType, string> = {
  STRING: 'VARCHAR',
  INT64: 'BIGINT',
  FLOAT64: 'DOUBLE',
  BOOL: 'BOOLEAN',
  TIMESTAMP: 'TIMESTAMPTZ',
  JSON: 'JSON',
};

const quote = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** One instance per file per process: DuckDB locks the file, and writes on it are queued one at a time. */
interface SharedDatabase {
  instance: DuckDBInstance;
  users: number;
  writes: Promise<unknown>;
}
const openDatabases = new Map<string, Promise<SharedDatabase>>();

async function acquireDatabase(path: string, settings: Record<string, string>): Promise<SharedDatabase> {
  if (path === ':memory:') return { instance: await DuckDBInstance.create(path, settings), users: 1, writes: Promise.resolve() };
  const file = resolve(path);
  let opening = openDatabases.get(file);
  if (!opening) {
    opening = DuckDBInstance.create(file, settings).then((instance) => ({ instance, users: 0, writes: Promise.resolve() }));
    openDatabases.set(file, opening);
    opening.catch(() => openDatabases.delete(file));
  }
  const database = await opening;
  database.users += 1;
  return database;
}

function releaseDatabase(path: string, database: SharedDatabase): void {
  database.users -= 1;
  if (database.users > 0) return;
  if (path !== ':memory:') openDatabases.delete(resolve(path));
  database.instance.closeSync();
}

function timestampIso(value: DuckDBValue): string {
  const micros = (value as { micros: bigint }).micros;
  const date = new Date(Number(micros / 1000n));
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString(); // ±infinity keeps DuckDB's text
}

/** Results as plain JS: BIGINT as number, timestamps as ISO strings, JSON parsed, like the BigQuery adapter. */
const toPlainValue: DuckDBValueConverter<unknown> = (value, type, converter) => {
  if (value === null) return null;
  if (type.alias === 'JSON') return JSON.parse(String(value));
  switch (type.typeId) {
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UBIGINT:
    case DuckDBTypeId.UHUGEINT:
      return Number(value);
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
      return timestampIso(value);
    default:
      return JSDuckDBValueConverter(value, type, converter as DuckDBValueConverter<JS>);
  }
};

/** Converts by the result's column types: the per-chunk types the reader would use lose the JSON alias. */
function toPlainRows(reader: DuckDBResultReader): Row[] {
  const names = reader.deduplicatedColumnNames();
  const types = reader.columnTypes();
  return reader
    .getRows()
    .map((values) => Object.fromEntries(values.map((value, index) => [names[index], toPlainValue(value, types[index] as DuckDBType, toPlainValue)])));
}

const microsOf = (date: Date): bigint => BigInt(date.getTime()) * 1000n;

/** How each column type goes into the appender; values are already validated. */
const APPEND: Record<ColumnType, (appender: DuckDBAppender, value: unknown) => void> = {
  STRING: (appender, value) => appender.appendVarchar(value as string),
  INT64: (appender, value) => appender.appendBigInt(BigInt(value as number | bigint)),
  FLOAT64: (appender, value) => appender.appendDouble(value as number),
  BOOL: (appender, value) => appender.appendBoolean(value as boolean),
  TIMESTAMP: (appender, value) => appender.appendTimestampTZ(timestampTZValue(microsOf(parseTimestamp(value) as Date))),
  JSON: (appender, value) => appender.appendVarchar(JSON.stringify(value)),
};

/** Appends rows to a temp table in schema column order; absent optional values become NULL. */
async function appendRows(connection: DuckDBConnection, table: string, schema: TableSchema, rows: Row[]): Promise<void> {
  const appender = await connection.createAppender(table, null, 'temp');
  try {
    for (const row of rows) {
      for (const { name, type } of schema.columns) {
        const value = row[name];
        if (value === undefined || value === null) appender.appendNull();
        else APPEND[type](appender, value);
      }
      appender.endRow();
    }
  } catch (error) {
    appender.clear(); // so closing does not flush half a batch
    throw error;
  } finally {
    appender.closeSync(); // flushes
  }
}

function toDuckDbValue(value: unknown): DuckDBValue {
  if (value instanceof Date) return timestampTZValue(microsOf(value));
  if (Array.isArray(value)) return listValue(value.map(toDuckDbValue));
  return (value ?? null) as DuckDBValue;
}

/** Binds `@name` as DuckDB's `$name`; Dates become TIMESTAMPTZ values and arrays LISTs. */
function bindParams(sql: string, params: Record<string, unknown>): { sql: string; values: Record<string, DuckDBValue> } {
  const values: Record<string, DuckDBValue> = {};
  const bound = sql.replace(/@([A-Za-z_]\w*)/g, (match, name: string) => {
    if (!(name in params)) return match;
    const value = params[name];
    values[name] = toDuckDbValue(value);
    return `$${name}`;
  });
  return { sql: bound, values };
}

/** The local warehouse: an embedded DuckDB file with one schema standing in for the BigQuery dataset. */
export class DuckDbWarehouse implements Warehouse {
  readonly dialect = 'duckdb' as const;
  private readonly path: string;
  private readonly memoryLimit?: string;
  private readonly dataset: string;
  private readonly schemas = new Map<string, TableSchema>();
  private opened?: Promise<{ database: SharedDatabase; connection: DuckDBConnection }>;

  constructor({ path, dataset, memoryLimit }: DuckDbWarehouseOptions) {
    this.memoryLimit = memoryLimit;
    this.path = path;
    this.dataset = dataset;
  }

  /**
   * Creates the schema and missing tables; the key is the PRIMARY KEY, which makes inserts idempotent.
   * A table made by an older release gets the optional columns added since (as NULL in its old rows).
   */
  async ensureTables(tables: TableSchema[]): Promise<void> {
    await this.write(async (connection) => {
      await connection.run(`CREATE SCHEMA IF NOT EXISTS ${quote(this.dataset)}`);
      for (const table of tables) await connection.run(this.createTableSql(table));
      await this.addMissingColumns(connection, tables);
    });
    for (const table of tables) this.schemas.set(table.name, table);
  }

  /** Appends the batch to a temp table, then copies it with ON CONFLICT DO NOTHING in one atomic statement. */
  async insert(table: string, rows: Row[]): Promise<InsertResult> {
    const schema = this.schemas.get(table) ?? tableSchema(table);
    validateRows(schema, rows);
    const { unique, duplicates } = dedupeByKey(schema, rows);
    if (unique.length === 0) return { inserted: 0, duplicates };
    const inserted = await this.write((connection) => this.stageAndCopy(connection, schema, unique));
    return { inserted, duplicates: duplicates + unique.length - inserted };
  }

  /** Runs a read query with `{{table}}` qualified as `"dataset"."table"` and `@name` params bound. */
  async query<T extends Row = Row>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
    const { connection } = await this.open();
    const qualified = sql.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => `${quote(this.dataset)}.${quote(name)}`);
    const bound = bindParams(qualified, params);
    const reader = await connection.runAndReadAll(bound.sql, bound.values);
    return toPlainRows(reader) as T[];
  }

  /** Deletes the rows matching `where` and copies the new ones in, in one transaction queued behind other writes. */
  async replace(table: string, where: Row, rows: Row[]): Promise<void> {
    const schema = this.schemas.get(table) ?? tableSchema(table);
    const conditions = checkReplace(schema, where, rows);
    validateRows(schema, rows);
    const { unique } = dedupeByKey(schema, rows);
    const filter = conditions.map(({ name }, index) => `${quote(name)} = $w${index}`).join(' AND ');
    const values = Object.fromEntries(
      conditions.map(({ type, value }, index) => [`w${index}`, toDuckDbValue(type === 'TIMESTAMP' ? parseTimestamp(value) : value)]),
    );
    await this.write(async (connection) => {
      await connection.run('BEGIN TRANSACTION');
      try {
        await connection.run(`DELETE FROM ${this.qualified(schema.name)} WHERE ${filter}`, values);
        if (unique.length > 0) await this.stageAndCopy(connection, schema, unique);
        await connection.run('COMMIT');
      } catch (error) {
        await connection.run('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }

  /** Closes this connection, and the DuckDB instance once no other warehouse in the process uses the file. */
  async close(): Promise<void> {
    if (!this.opened) return;
    const { database, connection } = await this.opened;
    this.opened = undefined;
    await database.writes;
    connection.closeSync();
    releaseDatabase(this.path, database);
  }

  private async addMissingColumns(connection: DuckDBConnection, tables: TableSchema[]): Promise<void> {
    const reader = await connection.runAndReadAll('SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $dataset', {
      dataset: this.dataset,
    });
    const present = new Set(reader.getRows().map(([table, column]) => `${table}.${column}`));
    for (const table of tables) {
      for (const column of table.columns) {
        if (present.has(`${table.name}.${column.name}`) || column.required) continue;
        await connection.run(`ALTER TABLE ${this.qualified(table.name)} ADD COLUMN IF NOT EXISTS ${quote(column.name)} ${SQL_TYPES[column.type]}`);
      }
    }
  }

  private createTableSql(table: TableSchema): string {
    const columns = table.columns.map((column) => `${quote(column.name)} ${SQL_TYPES[column.type]}${column.required ? ' NOT NULL' : ''}`);
    const key = `PRIMARY KEY (${table.key.map(quote).join(', ')})`;
    return `CREATE TABLE IF NOT EXISTS ${this.qualified(table.name)} (${[...columns, key].join(', ')})`;
  }

  private async stageAndCopy(connection: DuckDBConnection, schema: TableSchema, rows: Row[]): Promise<number> {
    const staging = `staging_${schema.name}`;
    const definitions = schema.columns.map((column) => `${quote(column.name)} ${SQL_TYPES[column.type]}`);
    await connection.run(`CREATE OR REPLACE TEMP TABLE ${quote(staging)} (${definitions.join(', ')})`);
    try {
      await appendRows(connection, staging, schema, rows);
      const names = schema.columns.map((column) => quote(column.name)).join(', ');
      const copy = `INSERT INTO ${this.qualified(schema.name)} (${names}) SELECT ${names} FROM temp.${quote(staging)} ON CONFLICT DO NOTHING`;
      return (await connection.run(copy)).rowsChanged;
    } finally {
      await connection.run(`DROP TABLE IF EXISTS temp.${quote(staging)}`);
    }
  }

  private qualified(table: string): string {
    return `${quote(this.dataset)}.${quote(table)}`;
  }

  private open(): Promise<{ database: SharedDatabase; connection: DuckDBConnection }> {
    this.opened ??= acquireDatabase(this.path, this.memoryLimit ? { memory_limit: this.memoryLimit } : {})
      .then(async (database) => ({ database, connection: await database.instance.connect() }))
      .catch((error: unknown) => {
        this.opened = undefined; // let the next call try again
        throw error;
      });
    return this.opened;
  }

  /** Queues a write behind every other write on the same file, so concurrent batches never conflict. */
  private async write<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    const { database, connection } = await this.open();
    const run = database.writes.then(() => work(connection));
    database.writes = run.catch(() => undefined);
    return run;
  }
}
