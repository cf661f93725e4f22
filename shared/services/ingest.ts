import type { GroundTruthReceived, PredictionsLogged } from '../domain/events.js';
import { groundTruthRow, predictionRow } from '../domain/prediction-rows.js';
import { memberOf } from '../domain/sql.js';
import type { InsertResult, Warehouse } from '../ports/warehouse.port.js';

/**
 * Writes a batch of prediction records. Keyed by prediction id in the warehouse, so a
 * redelivered message adds nothing.
 */
export async function ingestPredictions(event: PredictionsLogged, warehouse: Warehouse): Promise<InsertResult> {
  return warehouse.insert('predictions', event.predictions.map(predictionRow));
}

/**
 * Writes a batch of ground truth, keyed by prediction id. Outcomes whose prediction has not
 * landed (yet) are kept all the same and counted, since they may arrive first.
 */
export async function ingestGroundTruth(event: GroundTruthReceived, warehouse: Warehouse): Promise<InsertResult & { unmatched: number }> {
  const result = await warehouse.insert('ground_truth', event.records.map(groundTruthRow));
  const ids = event.records.map((record) => record.predictionId);
  const [row] = await warehouse.query<{ matched: number }>(
    `SELECT COUNT(*) AS matched FROM {{predictions}} WHERE ${memberOf('prediction_id', 'ids', warehouse.dialect)}`,
    { ids },
  );
  return { ...result, unmatched: ids.length - Number(row?.matched ?? 0) };
}
