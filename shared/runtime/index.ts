import { parseConfig } from '../config/config.js';
import { createPlatform, type Platform } from './platform.js';

let current: Platform | undefined;

/**
 * The process-wide platform, configured from the environment on first use. Functions call this
 * lazily so a bad configuration fails the first request with a message naming the variable.
 */
export function platform(): Platform {
  current ??= createPlatform(parseConfig(process.env));
  return current;
}

export { createPlatform, type Platform } from './platform.js';
export { topicHandler } from './topic-handler.js';
export { log } from './logger.js';
