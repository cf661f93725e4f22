import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { z } from 'zod';
import { parseConfig } from '../../shared/config/config.js';
import { PlatformError } from '../../shared/domain/errors.js';
import { parseWith } from '../../shared/domain/validation.js';
import { discoverLocalPlatform } from '../../shared/runtime/local-discovery.js';
import { createPlatform, type Platform } from '../../shared/runtime/platform.js';
import { functionUrlVariable } from '../../shared/config/client-config.js';
import { ENV } from '../../shared/config/env.js';

/** What every command works with. */
export interface CliContext {
  platform: Platform;
  /** Base URL of a function's HTTP endpoint. */
  functionUrl(name: string): string;
  apiKey?: string;
  actor: string;
}

/**
 * Builds the CLI's platform from the environment. On the local profile the emulators are found as
 * the SDK finds them (discoverLocalPlatform), and function URLs come from the endpoints.json
 * `npm start` writes.
 */
export function createCliContext(env: NodeJS.ProcessEnv = process.env): CliContext {
  discoverLocalPlatform(env);
  const config = parseConfig(env);
  return {
    platform: createPlatform(config),
    apiKey: env[ENV.apiKey],
    actor: env[ENV.actor] ?? `${env.USER ?? userInfo().username}@cli`,
    functionUrl(name) {
      const explicit = env[functionUrlVariable(name)];
      if (explicit) return explicit;
      const file = join(config.dataDir, 'endpoints.json');
      const url = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { functions: Record<string, string> }).functions[name] : undefined;
      if (!url) {
        throw new PlatformError(
          'CONFIG.INVALID',
          `No URL for the ${name} function: start the local platform with "npm start", or set ${functionUrlVariable(name)}.`,
        );
      }
      return url;
    },
  };
}

/** Options of requestOutcome. */
export interface RequestOutcomeOptions<T> {
  /** Where the function publishes its outcome (its topic handler's reply topic). */
  replyTopic: string;
  /** The outcome's schema: a reply that does not match it is a platform fault, not a result. */
  schema: z.ZodType<T>;
  /** Sent with the request; the function's reply carries it back. */
  correlationId: string;
  timeoutMs: number;
}

/** Publishes a request through the event bus and waits for the function's outcome; fails with EVENT.REPLY_TIMEOUT when none comes in time. */
export async function requestOutcome<T>(
  context: CliContext,
  topic: string,
  request: unknown,
  { replyTopic, schema, correlationId, timeoutMs }: RequestOutcomeOptions<T>,
): Promise<T> {
  const reply = await context.platform.eventBus().request(topic, request, { replyTopic, match: { correlationId }, timeoutMs });
  return parseWith(schema, reply.data, 'CLI.UNEXPECTED_RESPONSE', `reply on ${replyTopic} (not an outcome this CLI reads)`);
}
