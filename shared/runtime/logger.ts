import { ENV } from '../config/env.js';

/** Cloud Logging severities. */
export type Severity = 'DEBUG' | 'INFO' | 'NOTICE' | 'WARNING' | 'ERROR';

/**
 * Writes one structured JSON log line that Cloud Logging understands: `severity`, `message`, and
 * the trace id under its special key so entries group by request.
 */
export function log(severity: Severity, message: string, fields: Record<string, unknown> & { trace?: string } = {}): void {
  if (process.env[ENV.logLevel] === 'silent') return;
  const { trace, ...rest } = fields;
  const entry: Record<string, unknown> = { severity, message, time: new Date().toISOString(), ...rest };
  if (trace) entry['logging.googleapis.com/trace'] = trace;
  process.stdout.write(`${JSON.stringify(entry, errorReplacer)}\n`);
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, code: (value as { code?: unknown }).code, stack: value.stack };
  return value;
}
