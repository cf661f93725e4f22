import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { apiKeyCheck } from '../../shared/http/auth.js';
import { type ErrorHandlerOptions, answerError } from '../../shared/http/errors.js';
import { checkJsonHeaders, parseJsonBytes, tooLargeError } from '../../shared/http/json.js';
import type { ServingMetrics } from '../../shared/http/metrics.js';
import { SHADOW_OF_HEADER } from '../../shared/domain/rollout.js';
import { type Predictor, shadowIdsOf } from './predictor.js';
import type { ShadowMirror } from './shadow-mirror.js';
import type { StickySplit } from './sticky-split.js';

/** A revision's part in a rollout as the listener plays it; each absent part is one branch skipped per request. */
export interface ListenerRollout {
  /** Links each prediction to the production id in the x-mlops-shadow-of header. */
  shadowRole?: boolean;
  mirror?: ShadowMirror;
  split?: StickySplit;
}

/** What the /predict listener checks and where it reports. */
export interface PredictListenerOptions {
  predictor: Predictor;
  metrics: ServingMetrics;
  apiKeyHashes: string[];
  maxBodyBytes: number;
  /** A good body, shown when refusing one. */
  example: string;
  errors: ErrorHandlerOptions;
  rollout?: ListenerRollout;
  /** Called with each refusal's status and code, for the request outcome counts (the app leaves out 401 and 403). */
  onRefused?: (status: number, code: string) => void;
}

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

/**
 * POST /predict answered on Node's own request and response, every other request passed to
 * `fallback` (the Hono app). It makes the checks the Hono route makes, in the same order and with
 * the same answers (API key, media type, declared and actual length, JSON), but without building a
 * WHATWG Request and Response per call, which costs more than the prediction itself.
 */
export function predictListener(
  { predictor, metrics, apiKeyHashes, maxBodyBytes, example, errors, rollout = {}, onRefused }: PredictListenerOptions,
  fallback: RequestListener,
): RequestListener {
  // Read once: without a rollout each request pays one untaken branch per part, nothing more.
  const { shadowRole = false, mirror, split } = rollout;
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
    onRefused?.(status, body.code);
  };
  const answer = (req: IncomingMessage, res: ServerResponse, started: number, bytes: Buffer, body: unknown) => {
    predictor.predict(body, shadowRole ? shadowIdsOf(headerText(req.headers[SHADOW_OF_HEADER])) : undefined).then(
      (prediction) => {
        respond(res, started, 200, prediction);
        if (mirror !== undefined) mirror.offer('/predict', req.headers, bytes, prediction.ids);
      },
      (error: unknown) => refuse(req, res, started, error),
    );
  };
  // The candidate's answer as it came; the primary's own when the candidate cannot be reached.
  const forward = (req: IncomingMessage, res: ServerResponse, started: number, bytes: Buffer, body: unknown, to: StickySplit) => {
    void to.forward('/predict', req.headers, bytes).then((candidate) => {
      if (!candidate) return answer(req, res, started, bytes, body);
      if (res.destroyed) return;
      res.writeHead(candidate.status, { 'content-type': candidate.contentType, 'content-length': candidate.body.length });
      res.end(candidate.body);
      metrics.observe('/predict', candidate.status, (performance.now() - started) / 1000);
    });
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
      const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      try {
        body = parseJsonBytes(bytes, { example });
      } catch (error) {
        return refuse(req, res, started, error);
      }
      if (split?.takes(req.headers, body)) return forward(req, res, started, bytes, body, split);
      answer(req, res, started, bytes, body);
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
