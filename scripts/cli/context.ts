import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../shared/config/config.js';
import { PlatformError } from '../../shared/domain/errors.js';
import { discoverLocalPlatform } from '../../shared/runtime/local-discovery.js';
import { createPlatform, type Platform } from '../../shared/runtime/platform.js';

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
    apiKey: env.MLOPS_API_KEY,
    actor: env.MLOPS_ACTOR ?? `${env.USER ?? userInfo().username}@cli`,
    functionUrl(name) {
      const explicit = env[`MLOPS_${name.toUpperCase().replaceAll('-', '_')}_URL`];
      if (explicit) return explicit;
      const file = join(config.dataDir, 'endpoints.json');
      const url = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { functions: Record<string, string> }).functions[name] : undefined;
      if (!url) {
        throw new PlatformError(
          'CONFIG.INVALID',
          `No URL for the ${name} function: start the local platform with "npm start", or set MLOPS_${name.toUpperCase().replaceAll('-', '_')}_URL.`,
        );
      }
      return url;
    },
  };
}
