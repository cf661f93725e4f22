import { type RequestListener, type Server, createServer } from 'node:http';

/** Limits of the serving HTTP server. */
export interface ServingServerOptions {
  /** A client must send its request headers within this time, and the whole request within `requestTimeoutMs`. */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs?: number;
}

/** The node:http server of a serving revision, running a serving app's listener (see ServingApp). */
export function createServingServer(
  listener: RequestListener,
  { headersTimeoutMs = 10_000, requestTimeoutMs = 30_000, keepAliveTimeoutMs = 5_000 }: ServingServerOptions = {},
): Server {
  const server = createServer({ headersTimeout: headersTimeoutMs, requestTimeout: requestTimeoutMs }, listener);
  server.keepAliveTimeout = keepAliveTimeoutMs;
  return server;
}
