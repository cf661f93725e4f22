import type { OnlineFeatureRow } from '../domain/online-features.js';
import type { OnlineFeatureStore } from '../ports/online-feature-store.port.js';
import type { Warehouse } from '../ports/warehouse.port.js';

/** Outcome of one materialize run. */
export interface MaterializeReport {
  dataset: string;
  /** Entities of the dataset (each one latest row). */
  entities: number;
  /** Of which written to the online store: the rest it already held, or held newer. */
  written: number;
  /** Highest resident set size seen during the run, in bytes. */
  peakRssBytes: number;
}

/** Options of a run. */
export interface MaterializeFeaturesOptions {
  dataset: string;
  warehouse: Warehouse;
  store: OnlineFeatureStore;
  /** Rows per store write (at most the store's maxBatch, its default). */
  batchSize?: number;
  /** Store writes in flight at once; a page holds `batchSize × concurrency` rows, which bounds memory. */
  concurrency?: number;
}

type LatestRow = { entity_id: string; event_time: string; features: Record<string, unknown> };

// Each entity's latest row, keyset-paged by entity id: a page's window sees every row of its entities, since the
// filter is on the partition key. QUALIFY needs a WHERE beside it on BigQuery; DuckDB takes the same text.
const LATEST_PAGE_SQL = `SELECT entity_id, event_time, features FROM {{offline_features}}
WHERE dataset_id = @dataset AND entity_id > @after
QUALIFY ROW_NUMBER() OVER (PARTITION BY entity_id ORDER BY event_time DESC) = 1
ORDER BY entity_id LIMIT @limit`;

/**
 * Copies each entity's latest offline_features row of a dataset to the online store (Feast's `materialize`).
 * Idempotent: a re-run writes nothing new, and a row older than the stored one never replaces it.
 */
export async function materializeFeatures({
  dataset,
  warehouse,
  store,
  batchSize = store.maxBatch,
  concurrency = 4,
}: MaterializeFeaturesOptions): Promise<MaterializeReport> {
  const size = Math.max(1, Math.min(batchSize, store.maxBatch));
  const pageSize = size * Math.max(1, concurrency);
  const report: MaterializeReport = { dataset, entities: 0, written: 0, peakRssBytes: process.memoryUsage.rss() };
  let after = '';
  for (;;) {
    const page = await warehouse.query<LatestRow>(LATEST_PAGE_SQL, { dataset, after, limit: pageSize });
    if (page.length === 0) break;
    const rows = page.map((row): OnlineFeatureRow => ({ entityId: row.entity_id, eventTime: row.event_time, features: row.features }));
    const results = await Promise.all(chunks(rows, size).map((chunk) => store.write(dataset, chunk)));
    report.entities += rows.length;
    report.written += results.reduce((sum, result) => sum + result.written, 0);
    report.peakRssBytes = Math.max(report.peakRssBytes, process.memoryUsage.rss());
    if (page.length < pageSize) break;
    after = page.at(-1)!.entity_id;
  }
  return report;
}

function chunks<T>(items: T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size));
  return result;
}
