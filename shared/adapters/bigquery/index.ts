/** Warehouse backend on BigQuery: tables from the domain's schemas, streaming inserts with insert ids, MERGE for replacements. */
export { tableResource } from './bigquery-requests.js';
export type { BigQueryWarehouseOptions, StatementStatistics } from './bigquery-warehouse.js';
export { BigQueryWarehouse } from './bigquery-warehouse.js';
