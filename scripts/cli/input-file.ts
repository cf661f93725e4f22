import { existsSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { UsageError } from './format.js';

/** The file's format from its extension; a missing file or another extension is a usage error (exit code 2). */
export function fileFormat(file: string, allowed: string[]): string {
  if (!existsSync(file) || !statSync(file).isFile()) throw new UsageError(`Cannot read ${file}: no such file.`);
  const format = extname(file).slice(1).toLowerCase();
  if (!allowed.includes(format)) throw new UsageError(`${file}: expected a ${allowed.map((name) => `.${name}`).join(', ')} file.`);
  return format;
}
