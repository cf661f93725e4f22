import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import type { CommandDefinition, CommandRuntime } from './command.js';
import { doctorCommand } from './doctor-command.js';
import { driftCommand } from './drift-commands.js';
import { explainCommand } from './explain-command.js';
import { featuresCommand } from './features-command.js';
import { closestName, UsageError } from './format.js';
import { groundTruthCommand } from './ground-truth-command.js';
import { jobsCommand } from './job-commands.js';
import { modelsCommand, promoteCommand, rollbackCommand, uploadCommand } from './registry-commands.js';
import { rolloutCommand } from './rollout-commands.js';
import { scoreCommand } from './score-command.js';
import { runsCommand } from './tracking-commands.js';
import { webhooksCommand } from './webhook-commands.js';
import { ENV } from '../../shared/config/env.js';

/** Every top-level command, in the order --help lists them. */
const COMMANDS: CommandDefinition[] = [
  uploadCommand,
  modelsCommand,
  promoteCommand,
  rollbackCommand,
  rolloutCommand,
  webhooksCommand,
  runsCommand,
  groundTruthCommand,
  featuresCommand,
  scoreCommand,
  jobsCommand,
  explainCommand,
  driftCommand,
  doctorCommand,
];

/** Where the program writes its own help and errors. */
export interface ProgramOutput {
  out(text: string): void;
  err(text: string): void;
}

const EXIT_CODES = `
Talks to the backends the environment configures (${ENV.profile}=local by default: the platform
that "npm start" runs, found through .mlops-data/endpoints.json or firebase.json).

Exit codes: 0 done (a load that refused some lines says how many, and lists them); 1 refused or
failed, or nothing in the input was accepted; 2 wrong usage.`;

/**
 * The `mlops` command line on commander. It never exits the process: errors surface as thrown
 * CommanderErrors (exitOverride), and all output goes through `output`, so it runs in-process.
 */
export function buildProgram(runtime: CommandRuntime, output: ProgramOutput): Command {
  const program = new Command('mlops')
    .description("the platform's command line: models, serving, ground truth, features, drift and experiment runs")
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: output.out, writeErr: output.err })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', EXIT_CODES);
  for (const define of COMMANDS) define(program, runtime);
  program.on('command:*', ([name]: string[]) => {
    const known = program.commands.map((command) => command.name());
    const suggestion = closestName(name ?? '', known);
    throw new UsageError(`Unknown command "${name}".${suggestion ? ` Did you mean "${suggestion}"?` : ''} See: mlops --help`);
  });
  return program;
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string }).version;
}
