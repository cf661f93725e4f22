import { type Command, Option } from 'commander';
import type { CliContext } from './context.js';
import { UsageError } from './format.js';

/** How a command writes: `print` for results on stdout, `progress` for a terminal-only status line. */
export interface CliIo {
  print(text: string): void;
  progress(text: string): void;
}

/** What a command's action works with: the context, built on first use (so --help builds nothing), and its output. */
export interface CommandRuntime {
  context(): CliContext;
  io: CliIo;
}

/** Adds one top-level command (with its subcommands, options and help) to the program. */
export type CommandDefinition = (program: Command, runtime: CommandRuntime) => void;

/** Every command's `--json` flag. */
export interface JsonOption {
  json?: boolean;
}

/** The `--json` flag every command takes. */
export function jsonOption(): Option {
  return new Option('--json', 'print the result as JSON, for scripts');
}

/** Collects a repeatable option's values (`--metric a=1 --metric b=2`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A required flag value, or a UsageError naming it and the command's help. */
export function need(value: string | undefined, what: string, command: string): string {
  if (!value) throw new UsageError(`Missing ${what}. See: mlops ${command} --help`);
  return value;
}

/**
 * Makes a command with subcommands answer an unknown one with a usage error naming the valid
 * ones, as `Unknown "runs frobnicate": use list, show or compare.`
 */
export function refuseUnknownSubcommands(group: Command): Command {
  return group.on('command:*', ([name]: string[]) => {
    const names = group.commands.map((sub) => sub.name()).filter((sub) => sub !== 'help');
    const choices = `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
    throw new UsageError(`Unknown "${group.name()} ${name}": use ${choices}. See: mlops ${group.name()} --help`);
  });
}
