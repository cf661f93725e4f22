import { type PredictionWindow, windowRowBase } from '../domain/drift/drift-queries.js';
import { monitoringDialect } from '../domain/drift/sql-dialect.js';
import { EXACT_LATENCY_ROWS, errorsQuery, latencyQuery, volumeQuery } from '../domain/monitoring/health.js';
import type { Warehouse } from '../ports/warehouse.port.js';

/** Volume, latency and error rate of a version in a window; the error rate is null before any online request. */
export interface ServiceHealth {
  predictions: number;
  online_predictions: number;
  batch_predictions: number;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  latency_p99_ms: number | null;
  /** Refused (4xx other than 401/403) and failed (5xx) requests over those plus the online predictions. */
  error_rate: number | null;
}

/**
 * Counts predictions by source, takes the p50/p95/p99 of online latency (exact up to 100,000 rows)
 * and the error rate from the refused and failed requests the serving instances counted.
 */
export async function measureHealth(warehouse: Warehouse, window: PredictionWindow): Promise<ServiceHealth> {
  const volume = volumeQuery(window);
  const [counts] = await warehouse.query(volume.sql, volume.params);
  const errors = errorsQuery(window);
  const [failed] = await warehouse.query(errors.sql, errors.params);
  const timed = Number(counts?.timed ?? 0);
  const online = Number(counts?.online_predictions ?? 0);
  const refused = Number(failed?.errors ?? 0);
  const health: ServiceHealth = {
    predictions: Number(counts?.predictions ?? 0),
    online_predictions: online,
    batch_predictions: Number(counts?.batch_predictions ?? 0),
    latency_p50_ms: null,
    latency_p95_ms: null,
    latency_p99_ms: null,
    error_rate: online + refused === 0 ? null : refused / (online + refused),
  };
  if (timed === 0) return health;
  const latency = latencyQuery(monitoringDialect(warehouse.dialect), window, timed <= EXACT_LATENCY_ROWS);
  const [row] = await warehouse.query(latency.sql, latency.params);
  const [p50, p95, p99] = row ? latency.read(row) : [];
  return { ...health, latency_p50_ms: p50 ?? null, latency_p95_ms: p95 ?? null, latency_p99_ms: p99 ?? null };
}

/** The service_health row of a version's window. */
export function healthRow(health: ServiceHealth, window: PredictionWindow, computedAt: string): Record<string, unknown> {
  return { ...windowRowBase(window, computedAt), ...health };
}
