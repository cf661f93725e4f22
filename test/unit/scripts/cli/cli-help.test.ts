import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { mlops } from '../../../support/cli.js';

// Every command and subcommand as a user types it; --help must answer for each without any service.
const COMMANDS = [
  ['upload'],
  ['models'],
  ['models', 'list'],
  ['models', 'show'],
  ['models', 'history'],
  ['promote'],
  ['explain'],
  ['rollback'],
  ['runs'],
  ['runs', 'list'],
  ['runs', 'show'],
  ['runs', 'compare'],
  ['ground-truth'],
  ['features'],
  ['features', 'load'],
  ['score'],
  ['drift'],
  ['drift', 'run'],
  ['drift', 'report'],
  ['doctor'],
  ['rollout'],
  ['rollout', 'start'],
  ['rollout', 'shadow'],
  ['rollout', 'status'],
  ['rollout', 'compare'],
  ['rollout', 'pause'],
  ['rollout', 'resume'],
  ['rollout', 'abort'],
];

describe('the mlops command line: help, version and usage errors', () => {
  let exit: MockInstance<typeof process.exit>;
  beforeEach(() => {
    // The in-process runner must never end the process, whatever it is asked.
    exit = vi.spyOn(process, 'exit').mockImplementation(() => {
      throw new Error('process.exit was called');
    });
  });
  afterEach(() => {
    expect(exit).not.toHaveBeenCalled();
    exit.mockRestore();
  });

  it('answers --help for every command with its usage, exit code 0', async () => {
    for (const command of COMMANDS) {
      const result = await mlops(...command, '--help');
      expect({ command, code: result.code, stderr: result.stderr }).toEqual({ command, code: 0, stderr: '' });
      expect(result.stdout).toContain(`Usage: mlops ${command.join(' ')}`);
    }
  });

  it("lists each command's flags in its help", async () => {
    const upload = (await mlops('upload', '--help')).stdout;
    for (const flag of ['--name <model>', '--run-id <id>', '--metric <key=value>', '--no-wait', '--timeout <seconds>', '--json'])
      expect(upload).toContain(flag);
    expect((await mlops('features', 'load', '--help')).stdout).toContain('--event-time-column <name>');
    expect((await mlops('help', 'promote')).stdout).toContain('--to <alias>');
  });

  it('documents the exit codes in the top-level help', async () => {
    const help = await mlops('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes: 0 done.*\n?.*1 refused or\s+failed, or nothing in the input was accepted; 2 wrong usage/s);
    for (const [name] of COMMANDS) expect(help.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
  });

  it('prints the package version for --version', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(await mlops('--version')).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('answers a mistake with a suggestion and exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [['upload', 'model.onnx', '--nmae', 'churn'], /unknown option '--nmae'\n\(Did you mean --name\?\)/],
      [['modles', 'list'], /Unknown command "modles"\. Did you mean "models"\?/],
      [['frobnicate'], /Unknown command "frobnicate"\. See: mlops --help/],
      [['runs', 'frobnicate'], /Unknown "runs frobnicate": use list, show or compare/],
      [['models', 'show'], /missing required argument 'name'/],
      [['promote', 'churn', '1'], /Missing --to <alias>\. See: mlops promote --help/],
      [['models', 'list', 'extra'], /too many arguments/],
    ];
    for (const [argv, message] of cases) {
      const result = await mlops(...argv);
      expect({ argv, code: result.code }).toEqual({ argv, code: 2 });
      expect(result.stderr).toMatch(message);
    }
  });

  it('shows the commands of a group called without one, as a usage error', async () => {
    const bare = await mlops();
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('Usage: mlops [options] [command]');
    const runs = await mlops('runs');
    expect(runs.code).toBe(2);
    expect(runs.stderr).toMatch(/Commands:\n\s+list \[options\]/);
  });
});
