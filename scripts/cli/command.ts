import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { CliContext } from './context.js';
import { UsageError } from './format.js';

/** How a command writes: `print` for results on stdout, `progress` for a terminal-only status line. */
export interface CliIo {
  print(text: string): void;
  progress(text: string): void;
}

/** One top-level command: its usage lines for --help, and what it does with the rest of argv. */
export interface CliCommand {
  usage: string[];
  run(context: CliContext, argv: string[], io: CliIo): Promise<void>;
}

/** Parses a command's own flags strictly; a mistake is a UsageError (exit code 2). */
export function flags<const T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options: { ...options, json: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** A required positional or flag value, or a UsageError naming it. */
export function need(value: string | undefined, what: string): string {
  if (!value) throw new UsageError(`Missing ${what}. See: mlops --help`);
  return value;
}
