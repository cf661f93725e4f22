import { isPlatformError } from '../../shared/domain/errors.js';
import type { CliCommand } from './command.js';
import { type CliContext, createCliContext } from './context.js';
import { UsageError } from './format.js';
import { featuresCommand, groundTruthCommand, scoreCommand } from './data-commands.js';
import { driftCommand } from './drift-commands.js';
import { modelsCommand, promoteCommand, rollbackCommand, uploadCommand } from './registry-commands.js';
import { runsCommand } from './tracking-commands.js';

/** Every top-level command; each parses its own flags. */
const COMMANDS: Record<string, CliCommand> = {
  upload: uploadCommand,
  models: modelsCommand,
  promote: promoteCommand,
  rollback: rollbackCommand,
  runs: runsCommand,
  'ground-truth': groundTruthCommand,
  features: featuresCommand,
  score: scoreCommand,
  drift: driftCommand,
};

function help(): string {
  const lines = Object.values(COMMANDS).flatMap((command) => command.usage.map((line) => `  ${line}`));
  return `mlops: the platform's command line

${lines.join('\n')}

Talks to the backends the environment configures (MLOPS_PROFILE=local by default: the emulators
that "npm start" runs). Exit codes: 0 done, 1 refused or failed, 2 wrong usage.`;
}

/** Runs one command line and returns the exit code. */
export async function main(
  argv: string[],
  out: (text: string) => void = (text) => void process.stdout.write(text),
  err: (text: string) => void = (text) => void process.stderr.write(text),
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out(`${help()}\n`);
    return name === undefined ? 2 : 0;
  }
  let context: CliContext | undefined;
  try {
    const command = COMMANDS[name];
    if (!command) throw new UsageError(`Unknown command "${name}". See: mlops --help`);
    context = createCliContext();
    await command.run(context, rest, { print: (text) => out(`${text}\n`), progress: (text) => (process.stderr.isTTY ? err(text) : undefined) });
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      err(`error: ${error.message}\n`);
      return 2;
    }
    err(`error: ${isPlatformError(error) ? `${error.message} [${error.code}]` : (error as Error).message}\n`);
    return 1;
  } finally {
    await context?.platform.close();
  }
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
