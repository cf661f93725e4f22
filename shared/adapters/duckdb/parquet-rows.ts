import { DuckDBInstance } from '@duckdb/node-api';

/** Streams a Parquet file on this machine through an in-memory DuckDB as JSON-ready rows, row group by row group. */
export async function* parquetRows(file: string): AsyncGenerator<Record<string, unknown>> {
  const connection = await (await DuckDBInstance.create(':memory:')).connect();
  try {
    const result = await connection.stream(`SELECT * FROM read_parquet('${file.replaceAll("'", "''")}')`);
    for await (const rows of result.yieldRowObjectJson()) yield* rows as Record<string, unknown>[];
  } finally {
    connection.closeSync();
  }
}
