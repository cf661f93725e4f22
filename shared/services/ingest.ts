import type { GroundTruthReceived, PredictionsLogged, RequestOutcome } from '../domain/events.js';
import { groundTruthRow, predictionRow, requestOutcomeRow } from '../domain/prediction-rows.js';
import { memberOf } from '../domain/sql.js';
import type { InsertResult, Warehouse } from '../ports/warehouse.port.js';

/** What a predictions message wrote: new and repeated predictions, and the request outcome counts it set. */
export interface PredictionsIngested extends InsertResult {
  outcomes: number;
}

/**
 * Writes a batch of prediction records, keyed by prediction id in the warehouse, so a redelivered
 * message adds nothing; then the request outcome counts it carries (see {@link ingestRequestOutcomes}).
 */
export async function ingestPredictions(event: PredictionsLogged, warehouse: Warehouse): Promise<PredictionsIngested> {
  const result = event.predictions.length > 0 ? await warehouse.insert('predictions', event.predictions.map(predictionRow)) : { inserted: 0, duplicates: 0 };
  const outcomes = event.outcomes ?? [];
  if (outcomes.length > 0) await ingestRequestOutcomes(outcomes, warehouse);
  return { ...result, outcomes: outcomes.length };
}

/**
 * Sets an instance's running counts of refused and failed requests, one minute at a time. A count
 * replaces the stored one instead of adding to it, and never lowers it (running counts only grow):
 * a redelivered message, or an older report arriving after a newer one, changes nothing.
 */
export async function ingestRequestOutcomes(outcomes: RequestOutcome[], warehouse: Warehouse): Promise<void> {
  for (const group of byInstanceMinute(outcomes)) {
    const [{ model, version, minute, instance }] = group as [RequestOutcome];
    const where = { model, version, minute, instance };
    const stored = await warehouse.query<{ status: number; code: string; count: number }>(
      'SELECT status, code, count FROM {{request_outcomes}} WHERE model = @model AND version = @version AND minute = @minute AND instance = @instance',
      { ...where, minute: new Date(minute) },
    );
    const counts = new Map(
      stored.map((row) => [`${row.status} ${row.code}`, { ...where, status: Number(row.status), code: row.code, count: Number(row.count) }]),
    );
    for (const outcome of group) {
      const key = `${outcome.status} ${outcome.code}`;
      if ((counts.get(key)?.count ?? -1) < outcome.count) counts.set(key, outcome);
    }
    await warehouse.replace('request_outcomes', where, [...counts.values()].map(requestOutcomeRow));
  }
}

function byInstanceMinute(outcomes: RequestOutcome[]): RequestOutcome[][] {
  const groups = new Map<string, RequestOutcome[]>();
  for (const outcome of outcomes) {
    const key = JSON.stringify([outcome.model, outcome.version, outcome.minute, outcome.instance]);
    groups.set(key, [...(groups.get(key) ?? []), outcome]);
  }
  return [...groups.values()];
}

/**
 * Writes a batch of ground truth, keyed by prediction id. Outcomes whose prediction has not
 * landed (yet) are kept all the same and counted, since they may arrive first.
 */
export async function ingestGroundTruth(event: GroundTruthReceived, warehouse: Warehouse): Promise<InsertResult & { unmatched: number }> {
  const rows = event.records.map((record) => ({ ...groundTruthRow(record), attributes: record.attributes ?? null }));
  const result = await warehouse.insert('ground_truth', rows);
  const ids = event.records.map((record) => record.predictionId);
  const [row] = await warehouse.query<{ matched: number }>(
    `SELECT COUNT(*) AS matched FROM {{predictions}} WHERE ${memberOf('prediction_id', 'ids', warehouse.dialect)}`,
    { ids },
  );
  return { ...result, unmatched: ids.length - Number(row?.matched ?? 0) };
}
