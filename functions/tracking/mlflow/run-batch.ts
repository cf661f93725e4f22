import { z } from 'zod';
import type { MetricPoint, RunBatch } from '../../../shared/domain/tracking.js';
import { Int64, MlflowError } from './protocol.js';

/** A param or tag value: a string as the protos say, though numbers and booleans are read as their text. */
export const Text = z.union([z.string(), z.number(), z.boolean()]).transform(String);

/**
 * A metric value: a JSON number, or the text proto3 JSON writes for a double ("0.5", and "NaN" or
 * "Infinity", which the store then refuses: it keeps finite values only).
 */
const MetricValue = z.union([z.number(), z.string().transform(Number)]);

/** One metric point as MLflow's clients send it: step 0 and the time of arrival when left out. */
export const MetricJsonBody = z.object({ key: z.string(), value: MetricValue, timestamp: Int64.optional(), step: Int64.default(0) });

const KeyValue = z.object({ key: z.string(), value: Text });

/** The runs/log-batch request. */
export const LogBatch = z.object({
  run_id: z.string().min(1).optional(),
  run_uuid: z.string().min(1).optional(),
  metrics: z.array(MetricJsonBody).default([]),
  params: z.array(KeyValue).default([]),
  tags: z.array(KeyValue).default([]),
});

// MLflow's own bounds on one log-batch request (mlflow/utils/validation.py).
const MAX_METRICS = 1000;
const MAX_PARAMS = 100;
const MAX_TAGS = 100;
const MAX_ENTRIES = 1000;

/**
 * A log-batch request as one write: within MLflow's bounds, a param given twice with two values
 * refused (as MLflow does), and the points without a timestamp stamped now.
 */
export function checkedBatch(request: z.output<typeof LogBatch>, now = Date.now()): Required<Pick<RunBatch, 'params' | 'tags'>> & { metrics: MetricPoint[] } {
  const { metrics, params, tags } = request;
  for (const [what, count, limit] of [
    ['metrics', metrics.length, MAX_METRICS],
    ['params', params.length, MAX_PARAMS],
    ['tags', tags.length, MAX_TAGS],
    ['entries (metrics, params and tags together)', metrics.length + params.length + tags.length, MAX_ENTRIES],
  ] as const) {
    if (count > limit)
      throw new MlflowError('INVALID_PARAMETER_VALUE', `A log-batch request holds at most ${limit} ${what}; got ${count}. Split it into several requests.`);
  }
  return {
    metrics: metrics.map((point) => ({ ...point, timestamp: point.timestamp ?? now })),
    params: uniqueParams(params),
    tags: Object.fromEntries(tags.map(({ key, value }) => [key, value])),
  };
}

function uniqueParams(params: { key: string; value: string }[]): Record<string, string> {
  const record: Record<string, string> = {};
  for (const { key, value } of params) {
    if (record[key] !== undefined && record[key] !== value) {
      throw new MlflowError(
        'INVALID_PARAMETER_VALUE',
        `Param ${JSON.stringify(key)} is given twice in one batch, as ${JSON.stringify(record[key])} and ${JSON.stringify(value)}: params cannot change; send one value.`,
      );
    }
    record[key] = value;
  }
  return record;
}
