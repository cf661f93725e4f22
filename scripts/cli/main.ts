import { CommanderError } from 'commander';
import { isPlatformError } from '../../shared/domain/errors.js';
import type { CommandRuntime } from './command.js';
import { type CliContext, createCliContext } from './context.js';
import { ReportedFailure, UsageError } from './format.js';
import { buildProgram } from './program.js';

/** Exit codes of every command, as `mlops --help` documents them. */
export const EXIT = { done: 0, failed: 1, usage: 2 } as const;

/** Runs one command line and returns the exit code; never calls process.exit. */
export async function main(
  argv: string[],
  out: (text: string) => void = (text) => void process.stdout.write(text),
  err: (text: string) => void = (text) => void process.stderr.write(text),
): Promise<number> {
  let context: CliContext | undefined;
  const runtime: CommandRuntime = {
    context: () => (context ??= createCliContext()),
    io: { print: (text) => out(`${text}\n`), progress: (text) => (process.stderr.isTTY ? err(text) : undefined) },
  };
  try {
    await buildProgram(runtime, { out, err }).parseAsync(argv, { from: 'user' });
    return EXIT.done;
  } catch (error) {
    return exitCodeOf(error, err);
  } finally {
    await context?.platform.close();
  }
}

/** Maps what a command threw to its exit code, printing the message (commander prints its own). */
function exitCodeOf(error: unknown, err: (text: string) => void): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.done;
    // `mlops help` exits 0; help shown because a subcommand is missing is a usage error.
    if (error.code === 'commander.help') return error.exitCode === 0 ? EXIT.done : EXIT.usage;
    return EXIT.usage;
  }
  if (error instanceof UsageError) {
    err(`error: ${error.message}\n`);
    return EXIT.usage;
  }
  if (error instanceof ReportedFailure) {
    err(`error: ${error.message}\n`);
    return EXIT.failed;
  }
  err(`error: ${isPlatformError(error) ? `${error.message} [${error.code}]` : (error as Error).message}\n`);
  return EXIT.failed;
}

/** Runs one command line in this process with its output captured, as scripts and tests drive the CLI. */
export async function runCaptured(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(
    argv,
    (text) => (stdout += text),
    (text) => (stderr += text),
  );
  return { code, stdout, stderr };
}
