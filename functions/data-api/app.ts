import { Hono } from 'hono';
import { PlatformError } from '../../shared/domain/errors.js';
import { GroundTruthRecord, type GroundTruthReceived } from '../../shared/domain/events.js';
import { TOPICS } from '../../shared/domain/topics.js';
import { requireApiKey } from '../../shared/http/auth.js';
import { notFound, onError } from '../../shared/http/errors.js';
import { readJsonBody } from '../../shared/http/json.js';
import type { EventBus } from '../../shared/ports/event-bus.port.js';
import type { Warehouse } from '../../shared/ports/warehouse.port.js';
import { linesOf, loadFeatures } from '../../shared/services/load-features.js';

/** What the data API is built from. */
export interface DataApiOptions {
  bus: () => EventBus;
  warehouse: () => Promise<Warehouse>;
  apiKeyHashes: string[];
}

const PUBLISH_CHUNK = 1000;
const GROUND_TRUTH_EXAMPLE = '[{"id": "...", "label": "..."}] or [{"id": "...", "value": 1.5}], optionally with "attributes": {"sex": "F"}';

/** Ground truth and offline features over HTTP. */
export function createDataApi({ bus, warehouse, apiKeyHashes }: DataApiOptions): Hono {
  const app = new Hono();
  app.onError(onError);
  app.notFound(notFound());
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.use('/ground-truth', requireApiKey(apiKeyHashes));
  app.use('/ground-truth/*', requireApiKey(apiKeyHashes));
  app.use('/features', requireApiKey(apiKeyHashes));

  // Valid records are accepted and published; invalid ones are listed by index with the reason.
  app.post('/ground-truth', async (c) => {
    const body = await readJsonBody(c.req.raw, { example: GROUND_TRUTH_EXAMPLE });
    if (!Array.isArray(body))
      throw new PlatformError('REQUEST.INVALID', 'The body must be a JSON array of {"id", "label" or "value", optional "observed_time" and "attributes"}.');
    const { records, rejected } = readGroundTruth(body);
    for (let start = 0; start < records.length; start += PUBLISH_CHUNK) {
      const event: GroundTruthReceived = { schemaVersion: 1, records: records.slice(start, start + PUBLISH_CHUNK) };
      await bus().publish(TOPICS.groundTruth, event, { count: String(event.records.length) });
    }
    return c.json({ accepted: records.length, rejected }, records.length === 0 && rejected.length > 0 ? 400 : 202);
  });

  app.get('/ground-truth/stats', async (c) => {
    const [row] = await (await warehouse()).query<{ total: number; matched: number }>(
      'SELECT COUNT(*) AS total, COUNT(p.prediction_id) AS matched FROM {{ground_truth}} g LEFT JOIN {{predictions}} p ON p.prediction_id = g.prediction_id',
    );
    const total = Number(row?.total ?? 0);
    const matched = Number(row?.matched ?? 0);
    return c.json({ total, matched, unmatched: total - matched });
  });

  app.post('/features', async (c) => {
    const dataset = c.req.query('dataset');
    const format = c.req.query('format');
    if (!dataset || !/^[\w.-]{1,128}$/.test(dataset))
      throw new PlatformError('REQUEST.INVALID', 'Query parameter dataset is required: letters, digits, _ . - (up to 128).');
    if (format !== 'csv' && format !== 'jsonl') throw new PlatformError('REQUEST.INVALID', 'Query parameter format must be csv or jsonl.');
    const eventTimeColumn = c.req.query('eventTimeColumn') || undefined;
    if (eventTimeColumn !== undefined && !/^[^\s,"]{1,128}$/.test(eventTimeColumn))
      throw new PlatformError('REQUEST.INVALID', 'Query parameter eventTimeColumn must be a column name (no spaces, commas or quotes; up to 128).');
    const body = c.req.raw.body;
    if (!body) throw new PlatformError('REQUEST.INVALID', 'The body is empty: send the file content.');
    return c.json(await loadFeatures(linesOf(body), { dataset, format, eventTimeColumn }, await warehouse()));
  });
  return app;
}

function readGroundTruth(body: unknown[]): { records: GroundTruthRecord[]; rejected: { index: number; reason: string }[] } {
  const records: GroundTruthRecord[] = [];
  const rejected: { index: number; reason: string }[] = [];
  const now = new Date().toISOString();
  body.forEach((item, index) => {
    const input = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    const parsed = GroundTruthRecord.safeParse({
      predictionId: input.id,
      label: input.label ?? undefined,
      value: input.value ?? undefined,
      observedTime: input.observed_time ?? now,
      attributes: input.attributes ?? undefined,
    });
    if (parsed.success) records.push(parsed.data);
    else rejected.push({ index, reason: parsed.error.issues.map((issue) => `${issue.path.join('.') || 'record'}: ${issue.message}`).join('; ') });
  });
  return { records, rejected };
}
