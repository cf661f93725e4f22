/** Warehouse backend on DuckDB, one file on this machine: the local stand-in for BigQuery with the same schemas and dedupe. */
export type { DuckDbWarehouseOptions } from './duckdb-warehouse.js';
export { DuckDbWarehouse } from './duckdb-warehouse.js';
export { parquetRows } from './parquet-rows.js';
