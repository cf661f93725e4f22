import type { z } from 'zod';
import { type ErrorCode, PlatformError } from './errors.js';

// Apart from the event schemas (events.ts) so that what only validates, such as the JSON body
// reader on the serving path, does not load zod and every schema at start.

/** Validates data against its schema, or refuses it with `code`, naming every problem (and listing them in details.issues). */
export function parseWith<T>(schema: z.ZodType<T>, data: unknown, code: ErrorCode, what: string): T {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
  throw new PlatformError(code, `Invalid ${what}: ${problems}`, { details: { issues: result.error.issues } });
}
