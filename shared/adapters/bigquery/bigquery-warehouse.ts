import { BigQuery, type Table, type TableField } from '@google-cloud/bigquery';
import { tableSchema, type TableSchema } from '../../domain/tables.js';
import type { InsertResult, Row, Warehouse } from '../../ports/warehouse.port.js';
import { dedupeByKey, validateRows } from '../warehouse-common/index.js';
import { replaceStatement } from './bigquery-merge.js';
import { fromBigQueryRow, inBatches, insertAllRows, missingFields, qualify, tableResource } from './bigquery-requests.js';

/** What BigQuery reports of one statement's job. */
export interface StatementStatistics {
  jobId: string;
  /** As BigQuery names it: `CREATE_MODEL`, `INSERT`, ... */
  statementType: string;
  /** Rows a DML statement inserted, updated or deleted (0 for DDL). */
  affectedRows: number;
  bytesProcessed: number;
  bytesBilled: number;
}

/** Which project, dataset and location the warehouse lives in; `client` lets tests pass a fake. */
export interface BigQueryWarehouseOptions {
  projectId: string;
  dataset: string;
  location: string;
  client?: BigQuery;
}

function isAlreadyExists(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 409;
}

async function ignoreAlreadyExists(creation: Promise<unknown>): Promise<void> {
  try {
    await creation;
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
}

/** Adds the schema's optional columns an existing table lacks; a table already up to date is not written. */
async function addMissingColumns(table: Table, schema: TableSchema): Promise<void> {
  const [metadata] = await table.getMetadata();
  const fields: TableField[] = metadata.schema?.fields ?? [];
  const missing = missingFields(fields, schema);
  if (missing.length === 0) return;
  // A patch of the whole field list: fields are only ever added, so two starts racing write the same list.
  await table.setMetadata({ schema: { fields: [...fields, ...missing] } });
}

/**
 * The cloud warehouse: BigQuery with streaming inserts.
 *
 * Idempotence differs from DuckDB's: within a batch, repeated keys are dropped before sending;
 * across batches, BigQuery drops rows whose key-derived insertId it has seen in the last minute or
 * so, on a best-effort basis. Reads that must count each key once go through `dedupedSelect`.
 */
export class BigQueryWarehouse implements Warehouse {
  readonly dialect = 'bigquery' as const;
  private readonly client: BigQuery;
  private readonly projectId: string;
  private readonly dataset: string;
  private readonly location: string;
  private readonly schemas = new Map<string, TableSchema>();

  constructor({ projectId, dataset, location, client = new BigQuery({ projectId, location }) }: BigQueryWarehouseOptions) {
    this.client = client;
    this.projectId = projectId;
    this.dataset = dataset;
    this.location = location;
  }

  /**
   * Creates the dataset in its location and each missing table; "already exists" (409) is fine. An
   * existing table made by an older release gets the optional columns added since (BigQuery allows
   * adding NULLABLE fields to a table's schema in place).
   */
  async ensureTables(tables: TableSchema[]): Promise<void> {
    await ignoreAlreadyExists(this.client.createDataset(this.dataset, { location: this.location }));
    const dataset = this.client.dataset(this.dataset, { location: this.location });
    for (const table of tables) {
      try {
        await dataset.createTable(table.name, tableResource(table));
      } catch (error) {
        if (!isAlreadyExists(error)) throw error;
        await addMissingColumns(dataset.table(table.name), table);
      }
      this.schemas.set(table.name, table);
    }
  }

  /**
   * Streams the rows with insertIds. `inserted` counts the distinct keys sent: BigQuery does not say
   * which rows it dropped as repeats of an earlier batch, so `duplicates` counts in-batch repeats only.
   */
  async insert(table: string, rows: Row[]): Promise<InsertResult> {
    const schema = this.schemas.get(table) ?? tableSchema(table);
    validateRows(schema, rows);
    const { unique, duplicates } = dedupeByKey(schema, rows);
    const target = this.client.dataset(this.dataset).table(table);
    // Sequential requests: a failure throws (so Pub/Sub redelivers) and the retry's insertIds dedupe what landed.
    for (const batch of inBatches(insertAllRows(schema, unique))) await target.insert(batch, { raw: true });
    return { inserted: unique.length, duplicates };
  }

  /** Runs a query in the dataset's location; JSON comes back parsed, timestamps as ISO strings. */
  async query<T extends Row = Row>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
    const [rows] = await this.client.query({
      query: qualify(sql, this.projectId, this.dataset),
      params,
      location: this.location,
      parseJSON: true,
    });
    return (rows as Row[]).map(fromBigQueryRow) as T[];
  }

  /** One MERGE statement (see `replaceStatement`): atomic, and its rows are DML-written so a later replace can delete them. */
  async replace(table: string, where: Row, rows: Row[]): Promise<void> {
    const schema = this.schemas.get(table) ?? tableSchema(table);
    validateRows(schema, rows);
    const { sql, params } = replaceStatement(schema, where, dedupeByKey(schema, rows).unique);
    await this.client.query({ query: qualify(sql, this.projectId, this.dataset), params, location: this.location });
  }

  /**
   * Runs one DDL or DML statement as a query job and reads its statistics: what `CREATE MODEL` and an
   * `INSERT ... SELECT` report (rows written, bytes billed), which a read query's rows cannot say.
   */
  async runStatement(sql: string, params: Record<string, unknown> = {}): Promise<StatementStatistics> {
    const [job] = await this.client.createQueryJob({ query: qualify(sql, this.projectId, this.dataset), params, location: this.location });
    await job.getQueryResults({ maxResults: 0 });
    const [metadata] = await job.getMetadata();
    const query = metadata.statistics?.query ?? {};
    return {
      jobId: job.id ?? '',
      statementType: query.statementType ?? '',
      affectedRows: Number(query.numDmlAffectedRows ?? 0),
      bytesProcessed: Number(query.totalBytesProcessed ?? 0),
      bytesBilled: Number(query.totalBytesBilled ?? 0),
    };
  }

  /** Nothing to release: the client holds no connection between requests. */
  async close(): Promise<void> {}
}
