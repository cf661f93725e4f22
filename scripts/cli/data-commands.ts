import { randomUUID } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { extname } from 'node:path';
import { Readable } from 'node:stream';
import { PubSub } from '@google-cloud/pubsub';
import { TOPICS } from '../../infra/stack.js';
import { type ErrorCode, PlatformError } from '../../shared/domain/errors.js';
import { BatchScored, type BatchScoringRequested } from '../../shared/domain/events.js';
import { splitCsvLine } from '../../shared/domain/feature-rows.js';
import { validateModelName } from '../../shared/domain/names.js';
import { linesOf } from '../../shared/services/load-features.js';
import type { CliCommand } from './command.js';
import { flags, need } from './command.js';
import type { CliContext } from './context.js';
import { UsageError, table } from './format.js';

const GROUND_TRUTH_CHUNK = 5000;

/** POSTs to a function of the platform, mapping its `{error, code}` answers to PlatformErrors. */
async function callFunction<T>(context: CliContext, name: string, path: string, init: RequestInit & { duplex?: 'half' }): Promise<T> {
  const headers = new Headers(init.headers);
  if (context.apiKey) headers.set('authorization', `Bearer ${context.apiKey}`);
  const url = `${context.functionUrl(name)}${path}`;
  const response = await fetch(url, { ...init, headers }).catch((error: Error) => {
    throw new PlatformError('CONFIG.INVALID', `Cannot reach ${url} (${error.message}). Is the platform running (npm start)?`, { permanent: false });
  });
  const payload = (await response.json().catch(() => ({}))) as T & { error?: string; code?: ErrorCode };
  if (!response.ok && !(payload as { accepted?: number }).accepted)
    throw new PlatformError(payload.code ?? 'EVENT.INVALID', payload.error ?? `${name} answered ${response.status}.`);
  return payload;
}

function fileFormat(file: string, allowed: string[]): string {
  if (!existsSync(file)) throw new UsageError(`Cannot read ${file}: no such file.`);
  const format = extname(file).slice(1).toLowerCase();
  if (!allowed.includes(format)) throw new UsageError(`${file}: expected a ${allowed.map((name) => `.${name}`).join(', ')} file.`);
  return format;
}

/** Reads ground truth records with their line numbers from CSV (id,label|value[,observed_time]) or JSON Lines. */
async function* groundTruthRecords(file: string, format: string): AsyncGenerator<{ line: number; record: unknown }> {
  let header: string[] | undefined;
  let line = 0;
  for await (const text of linesOf(createReadStream(file))) {
    line++;
    if (text.trim() === '') continue;
    if (format === 'jsonl') {
      yield {
        line,
        record: (() => {
          try {
            return JSON.parse(text);
          } catch {
            return `invalid JSON: ${text.slice(0, 40)}`;
          }
        })(),
      };
      continue;
    }
    const fields = splitCsvLine(text) ?? [];
    if (!header) {
      header = fields.map((field) => field.trim());
      continue;
    }
    const record: Record<string, unknown> = Object.fromEntries(header.map((name, index) => [name, fields[index] === '' ? undefined : fields[index]]));
    if (typeof record.value === 'string') record.value = Number(record.value);
    yield { line, record };
  }
}

/** `mlops ground-truth <file.csv|jsonl>`: sends observed outcomes, reporting refused lines by number. */
export const groundTruthCommand: CliCommand = {
  usage: ['mlops ground-truth <file.csv|jsonl>   (columns id, label or value, optional observed_time) [--json]'],
  async run(context, argv, io) {
    const { values, positionals } = flags(argv, {});
    const file = need(positionals[0], 'the ground truth file');
    const format = fileFormat(file, ['csv', 'jsonl']);
    let accepted = 0;
    const rejected: { line: number; reason: string }[] = [];
    let chunk: { line: number; record: unknown }[] = [];
    const send = async () => {
      if (chunk.length === 0) return;
      const result = await callFunction<{ accepted: number; rejected: { index: number; reason: string }[] }>(context, 'data-api', '/ground-truth', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(chunk.map((entry) => entry.record)),
      });
      accepted += result.accepted;
      for (const refusal of result.rejected) rejected.push({ line: chunk[refusal.index]!.line, reason: refusal.reason });
      chunk = [];
    };
    for await (const entry of groundTruthRecords(file, format)) {
      chunk.push(entry);
      if (chunk.length >= GROUND_TRUTH_CHUNK) await send();
    }
    await send();
    if (values.json) return io.print(JSON.stringify({ accepted, rejected }, null, 2));
    io.print(`accepted ${accepted} ground truth records${rejected.length ? `; refused ${rejected.length}:` : ''}`);
    for (const refusal of rejected.slice(0, 50)) io.print(`  line ${refusal.line}: ${refusal.reason}`);
  },
};

/** `mlops features load <file> --dataset <id>`: streams a features file into offline_features. */
export const featuresCommand: CliCommand = {
  usage: ['mlops features load <file.csv|jsonl|parquet> --dataset <id> [--json]'],
  async run(context, argv, io) {
    const { values, positionals } = flags(argv, { dataset: { type: 'string' } });
    if (positionals[0] !== 'load') throw new UsageError('Use: mlops features load <file> --dataset <id>');
    const file = need(positionals[1], 'the features file');
    const dataset = need(values.dataset, '--dataset <id>');
    const format = fileFormat(file, ['csv', 'jsonl', 'parquet']);
    const body = format === 'parquet' ? await parquetAsJsonLines(file) : createReadStream(file);
    const report = await callFunction<{ loaded: number; duplicates: number; rejectedCount: number; rejected: { line: number; reason: string }[] }>(
      context,
      'data-api',
      `/features?dataset=${encodeURIComponent(dataset)}&format=${format === 'parquet' ? 'jsonl' : format}`,
      { method: 'POST', body: Readable.toWeb(body) as ReadableStream, duplex: 'half' },
    );
    if (values.json) return io.print(JSON.stringify(report, null, 2));
    io.print(
      `loaded ${report.loaded} rows into dataset ${dataset}${report.duplicates ? ` (${report.duplicates} already present)` : ''}; refused ${report.rejectedCount}`,
    );
    for (const refusal of report.rejected) io.print(`  line ${refusal.line}: ${refusal.reason}`);
  },
};

/** Parquet is read with an in-memory DuckDB and sent on as JSON Lines, row group by row group. */
async function parquetAsJsonLines(file: string): Promise<Readable> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const connection = await (await DuckDBInstance.create(':memory:')).connect();
  const result = await connection.stream(`SELECT * FROM read_parquet('${file.replaceAll("'", "''")}')`);
  async function* lines() {
    for await (const rows of result.yieldRowObjectJson()) for (const row of rows) yield `${JSON.stringify(row)}\n`;
    connection.closeSync();
  }
  return Readable.from(lines());
}

/** `mlops score <dataset> --model <name>`: batch scoring with the model's served version, waiting for the result. */
export const scoreCommand: CliCommand = {
  usage: ['mlops score <dataset> --model <name> [--alias production] [--timeout SECONDS] [--json]'],
  async run(context, argv, io) {
    const { values, positionals } = flags(argv, {
      model: { type: 'string' },
      alias: { type: 'string', default: 'production' },
      timeout: { type: 'string', default: '600' },
    });
    const request: BatchScoringRequested = {
      schemaVersion: 1,
      requestId: randomUUID(),
      model: validateModelName(need(values.model, '--model <name>')),
      dataset: need(positionals[0], 'the dataset id'),
      alias: values.alias,
    };
    const result = await requestAndWait(context, request, Number(values.timeout) * 1000);
    if (values.json) return io.print(JSON.stringify(result, null, 2));
    if (result.status === 'failed') throw new PlatformError('REGISTRY.VERSION_NOT_FOUND', `Batch scoring failed: ${result.error}`);
    io.print(
      table(['DATASET', 'MODEL', 'VERSION', 'ROWS', 'SECONDS'], [[result.dataset, result.model, result.version, result.rowsScored, result.seconds.toFixed(1)]]),
    );
  },
};

/** Publishes the request on batch-scoring and waits for its outcome on batch-scored. */
async function requestAndWait(context: CliContext, request: BatchScoringRequested, timeoutMs: number): Promise<BatchScored> {
  const pubsub = new PubSub({ projectId: context.platform.config.projectId });
  const [subscription] = await pubsub.topic(TOPICS.batchScored).createSubscription(`cli-score-${request.requestId}`);
  try {
    const outcome = new Promise<BatchScored>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new PlatformError('EVENT.INVALID', `No result within ${timeoutMs / 1000} s; the run may still finish.`, { permanent: false })),
        timeoutMs,
      );
      subscription.on('message', (message) => {
        message.ack();
        const parsed = BatchScored.safeParse(JSON.parse(message.data.toString()));
        if (parsed.success && parsed.data.requestId === request.requestId) {
          clearTimeout(timer);
          resolve(parsed.data);
        }
      });
    });
    await context.platform.eventBus().publish(TOPICS.batchScoring, request);
    return await outcome;
  } finally {
    await subscription.delete().catch(() => undefined);
    await pubsub.close();
  }
}
