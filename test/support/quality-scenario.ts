import type { Row } from '../../shared/ports/warehouse.port.js';
import { seeded } from './drift-scenario.js';
import { BINARY_CLASSIFIER } from './models.js';

/**
 * The seeded scenario of the monitoring families, for the platform's own 4-feature logistic
 * classifier (test/support/models.ts): feature rows f0..f3 ~ N(0, 1), and per prediction two
 * sensitive attributes sent with ground truth. Three faults can be seeded, each in its own place:
 * - `missing`: f2 is null in a quarter of the rows (a data-quality fault, nothing else moves);
 * - `spread`: f3 is drawn near ±2 instead of N(0, 1), inside the reference's range, so its importance
 *   more than doubles while every value stays in range (an attribution fault);
 * - the classifier is biased against group "b" of attribute `group` in every row set: that group's
 *   f3 sits 1.5 lower, so it is selected far less often; attribute `region` is independent of
 *   everything, so its groups are treated alike.
 */
export interface QualityFaults {
  missing?: boolean;
  spread?: boolean;
}

/** One feature row and its attributes; the reference dataset draws them the same way (group b's f3 lower there too). */
function draw(random: () => number, faults: QualityFaults): { features: Record<string, number | null>; group: string; region: string } {
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const group = random() < 0.5 ? 'a' : 'b';
  const region = random() < 0.5 ? 'eu' : 'us';
  const f3 = faults.spread ? (random() < 0.5 ? -1 : 1) * (1.8 + 0.4 * random()) : normal();
  const round = (value: number) => Math.round(value * 1e4) / 1e4;
  const features: Record<string, number | null> = {
    f0: round(normal()),
    f1: round(normal()),
    f2: faults.missing && random() < 0.25 ? null : round(normal()),
    f3: round(f3 - (group === 'b' ? 1.5 : 0)),
  };
  return { features, group, region };
}

/** The classifier's probability for a feature row, as the served model computes it (a missing value reads as NaN). */
export function probabilityOf(features: Record<string, number | null>): number {
  const { weights, intercept, featureNames } = BINARY_CLASSIFIER;
  let score: number = intercept;
  featureNames.forEach((name, index) => {
    score += weights[index]! * (features[name] ?? Number.NaN);
  });
  return 1 / (1 + Math.exp(-score));
}

/** offline_features rows of the reference dataset. */
export function referenceRows(dataset: string, count: number, seed = 19): Row[] {
  const random = seeded(seed);
  return Array.from({ length: count }, (_, index) => ({
    dataset_id: dataset,
    entity_id: `e${index}`,
    event_time: '2026-01-01T00:00:00.000Z',
    features: draw(random, {}).features,
    loaded_at: '2026-01-01T00:00:00.000Z',
  }));
}

/**
 * `count` predictions of one version spread over [start, start + spanMs), logged as the serving
 * revision logs them (a NaN probability as null), and each one's ground truth: a label drawn from
 * the model's own probability, observed a minute later, with the prediction's attributes.
 */
export function scenarioRows(
  {
    model,
    version,
    start,
    spanMs,
    count,
    idPrefix,
    seed,
  }: { model: string; version: number; start: Date; spanMs: number; count: number; idPrefix: string; seed: number },
  faults: QualityFaults = {},
): { predictions: Row[]; groundTruth: Row[] } {
  const random = seeded(seed);
  const predictions: Row[] = [];
  const groundTruth: Row[] = [];
  for (let index = 0; index < count; index++) {
    const { features, group, region } = draw(random, faults);
    const probability = probabilityOf(features);
    const requestTime = new Date(start.getTime() + Math.floor((index * spanMs) / count));
    const id = `${idPrefix}-${index}`;
    predictions.push({
      prediction_id: id,
      model,
      version,
      request_time: requestTime.toISOString(),
      features,
      outputs: { probability: Number.isNaN(probability) ? null : Math.round(probability * 1e6) / 1e6, label: probability >= 0.5 ? 1 : 0 },
      latency_ms: 1,
      source: 'online',
    });
    const truth = Number.isNaN(probability) ? random() < 0.5 : random() < probability;
    groundTruth.push({
      prediction_id: id,
      label: truth ? '1' : '0',
      value: null,
      observed_time: new Date(requestTime.getTime() + 60_000).toISOString(),
      attributes: { group, region },
    });
  }
  return { predictions, groundTruth };
}
