import type { Row, Warehouse } from '../ports/warehouse.port.js';

/** The latest monitored window of one version: drift per feature, performance, health and open alerts. */
export interface VersionReport {
  version: number;
  windowStart: string;
  windowEnd: string;
  computedAt: string;
  drift: {
    feature: string;
    method: string;
    value: number;
    threshold: number;
    drifted: boolean;
    reference_size: number;
    current_size: number;
  }[];
  performance: Record<string, number>;
  labelled: number | null;
  health: Row | null;
  openAlerts: { feature: string; opened_at: string; method: string; value: number }[];
}

// The most recent window per version: latest end, then latest start.
const LATEST_DRIFT = `SELECT version, feature, method, value, threshold, drifted, reference_size, current_size, window_start, window_end, computed_at
FROM {{drift_metrics}} WHERE model = @model
QUALIFY DENSE_RANK() OVER (PARTITION BY version ORDER BY window_end DESC, window_start DESC) = 1
ORDER BY version, feature, method`;

const inWindow = 'model = @model AND version = @version AND window_start = @start AND window_end = @end';

/** Reads the latest window of every version of a model that has drift rows, newest version first. */
export async function latestMonitoring(warehouse: Warehouse, model: string): Promise<VersionReport[]> {
  const rows = await warehouse.query(LATEST_DRIFT, { model });
  const versions = [...new Set(rows.map((row) => Number(row.version)))].sort((a, b) => b - a);
  const alerts = await warehouse.query(
    "SELECT version, feature, opened_at, method, value FROM {{drift_alerts}} WHERE model = @model AND status = 'open' ORDER BY feature",
    { model },
  );
  return Promise.all(
    versions.map(async (version) => {
      const own = rows.filter((row) => Number(row.version) === version);
      const first = own[0]!;
      const params = { model, version, start: new Date(String(first.window_start)), end: new Date(String(first.window_end)) };
      const performance = await warehouse.query(`SELECT metric, value, labelled FROM {{model_performance}} WHERE ${inWindow} ORDER BY metric`, params);
      const [health] = await warehouse.query(
        `SELECT predictions, online_predictions, batch_predictions, latency_p50_ms, latency_p95_ms, latency_p99_ms, error_rate FROM {{service_health}} WHERE ${inWindow}`,
        params,
      );
      return {
        version,
        windowStart: String(first.window_start),
        windowEnd: String(first.window_end),
        computedAt: String(first.computed_at),
        drift: own.map(({ version: _, window_start, window_end, computed_at, ...row }) => row as VersionReport['drift'][number]),
        performance: Object.fromEntries(performance.map((row) => [String(row.metric), Number(row.value)])),
        labelled: performance.length > 0 ? Number(performance[0]!.labelled) : null,
        health: health ?? null,
        openAlerts: alerts.filter((alert) => Number(alert.version) === version).map(({ version: _, ...alert }) => alert as VersionReport['openAlerts'][number]),
      };
    }),
  );
}
