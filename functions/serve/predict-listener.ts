import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { apiKeyCheck } from '../../shared/http/auth.js';
import { type ErrorHandlerOptions, answerError } from '../../shared/http/errors.js';
import { checkJsonHeaders, parseJsonBytes, tooLargeError } from '../../shared/http/json.js';
import type { ServingMetrics } from '../../shared/http/metrics.js';
import type { Predictor } from './predictor.js';

/** What the /predict listener checks and where it reports. */
export interface PredictListenerOptions {
  predictor: Predictor;
  metrics: ServingMetrics;
  apiKeyHashes: string[];
  maxBodyBytes: number;
  /** A good body, shown when refusing one. */
  example: string;
  errors: ErrorHandlerOptions;
}

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

/**
 * POST /predict answered on Node's own request and response, every other request passed to
 * `fallback` (the Hono app). It makes the checks the Hono route makes, in the same order and with
 * the same answers (API key, media type, declared and actual length, JSON), but without building a
 * WHATWG Request and Response per call, which costs more than the prediction itself.
 */
export function predictListener(
  { predictor, metrics, apiKeyHashes, maxBodyBytes, example, errors }: PredictListenerOptions,
  fallback: RequestListener,
): RequestListener {
  const checkKey = apiKeyCheck(apiKeyHashes);
  const headersOf = (req: IncomingMessage) => ({ get: (name: string) => headerText(req.headers[name]) });
  const respond = (res: ServerResponse, started: number, status: number, body: unknown, close = false) => {
    const text = JSON.stringify(body);
    res.writeHead(
      status,
      close
        ? { ...JSON_HEADERS, 'content-length': Buffer.byteLength(text), connection: 'close' }
        : { ...JSON_HEADERS, 'content-length': Buffer.byteLength(text) },
    );
    res.end(text);
    metrics.observe('/predict', status, (performance.now() - started) / 1000);
  };
  const refuse = (req: IncomingMessage, res: ServerResponse, started: number, error: unknown) => {
    if (res.headersSent || res.destroyed) return;
    const { status, body } = answerError(error, { method: 'POST', path: '/predict', traceHeader: headerText(req.headers['x-cloud-trace-context']) }, errors);
    // A body refused unread is not read to its end to keep the connection: it is closed after the answer.
    respond(res, started, status, body, status === 413);
  };

  return (req, res) => {
    if (req.method !== 'POST' || !isPredictPath(req.url)) return fallback(req, res);
    const started = performance.now();
    try {
      checkKey(headersOf(req));
      checkJsonHeaders(headerText(req.headers['content-type']), headerText(req.headers['content-length']), { maxBytes: maxBodyBytes, requireJsonType: true });
    } catch (error) {
      return refuse(req, res, started, error);
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      received += chunk.length;
      if (received <= maxBodyBytes) return void chunks.push(chunk);
      refused = true;
      refuse(req, res, started, tooLargeError(maxBodyBytes));
    });
    req.once('end', () => {
      if (refused) return;
      let body: unknown;
      try {
        body = parseJsonBytes(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), { example });
      } catch (error) {
        return refuse(req, res, started, error);
      }
      predictor.predict(body).then(
        (answer) => respond(res, started, 200, answer),
        (error: unknown) => refuse(req, res, started, error),
      );
    });
  };
}

/** `/predict`, with or without a query string, as the Hono route matches it. */
function isPredictPath(url: string | undefined): boolean {
  if (!url?.startsWith('/predict')) return false;
  return url.length === 8 || url.charCodeAt(8) === 63 /* ? */;
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}
