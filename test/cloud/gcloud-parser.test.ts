import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDeployConfig } from '../../infra/deploy-config.js';
import { planDeployment } from '../../infra/plan.js';
import type { Step } from '../../infra/plan-steps.js';
import { STACK } from '../../infra/stack.js';
import { planTeardown } from '../../infra/teardown.js';
import { FakeGoogleApis } from '../support/google-apis/fake-google-apis.js';
import { checkParsing, type ParseVerdict } from '../support/google-apis/gcloud-parse-check.js';
import { type GcloudZygote, startGcloudZygote } from '../support/google-apis/gcloud-zygote/gcloud-zygote.js';
import { commandPathsOf, gcloudCommands, plausibleValues, representativeCommands, resourceNamesOf } from '../support/google-apis/plan-commands.js';

// Every gcloud command the plan can run, deduplicated by shape, through the installed gcloud with no
// credentials: a command whose arguments parse stops at "no active account"; a bad flag stops earlier.
const SHA256_OF_A_KEY = '2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b';
const CONFIGS = [
  parseDeployConfig({ project: 'acme-mlops', bucket: 'acme-mlops-artifacts', serving: { auth: 'api-keys', apiKeyHashes: [SHA256_OF_A_KEY] } }),
  parseDeployConfig({ project: 'acme-mlops', bucket: 'acme-mlops-artifacts', serving: { auth: 'iam' } }),
];

/** A plan and its full teardown: every step whose calls a deploy or a destroy can make. */
const everyStep = (config: (typeof CONFIGS)[number]): Step[] => {
  const plan = planDeployment(STACK, config);
  return [...plan, ...planTeardown(plan, { deleteData: true })];
};

const commandsOf = (stepsByConfig: Step[][]) => stepsByConfig.flatMap((steps, index) => gcloudCommands(steps, plausibleValues(steps, CONFIGS[index]!)));

/**
 * A copy of the steps with one flag misspelt: `--retry` of a topic-triggered deploy becomes `--retries`
 * (or, should the plan have no `--retry`, the first flag of the first gcloud apply gains an `s`).
 */
function withBrokenFlag(original: Step[]): { steps: Step[]; brokenArgv: string[]; brokenFlag: string } {
  const steps = structuredClone(original);
  const applies = steps.flatMap((step) => (step.apply.kind === 'command' ? [step.apply.argv] : []));
  const argv = applies.find((candidate) => candidate.includes('--retry')) ?? applies.find((candidate) => candidate.some((token) => token.startsWith('--')))!;
  const index = argv.includes('--retry') ? argv.indexOf('--retry') : argv.findIndex((token) => token.startsWith('--'));
  const flag = argv[index]!.split('=')[0]!;
  const brokenFlag = flag === '--retry' ? '--retries' : `${flag}s`;
  argv[index] = argv[index]!.replace(flag, brokenFlag);
  return { steps, brokenArgv: [...argv], brokenFlag };
}

let guard: FakeGoogleApis;
let zygote: GcloudZygote;
let emptyConfig: string;
let env: Record<string, string>;
const verdicts = new Map<string, ParseVerdict>();

/** Runs the commands not yet checked (gcloud's verdict on an argv never changes), then answers for all. */
async function check(commands: string[][]): Promise<ParseVerdict[]> {
  const missing = commands.filter((argv) => !verdicts.has(JSON.stringify(argv)));
  for (const verdict of await checkParsing(missing, { gcloud: zygote.command, env, cwd: emptyConfig, parallelism: 2 }))
    verdicts.set(JSON.stringify(verdict.argv), verdict);
  return commands.map((argv) => verdicts.get(JSON.stringify(argv))!);
}

const report = (failures: ParseVerdict[]) =>
  failures.map((verdict) => `${verdict.argv.join(' ')}\n    -> exit ${verdict.exitCode}: ${verdict.message}`).join('\n');

beforeAll(async () => {
  guard = await FakeGoogleApis.start();
  const steps = CONFIGS.flatMap(everyStep);
  zygote = await startGcloudZygote({ commands: commandPathsOf(steps, CONFIGS[0]!) });
  emptyConfig = mkdtempSync(join(tmpdir(), 'gcloud-empty-config-'));
  // Nothing from the developer's own gcloud setup: no account, no token, a config folder of its own.
  env = { PATH: process.env.PATH ?? '', HOME: emptyConfig, LANG: 'C.UTF-8', CLOUDSDK_CONFIG: emptyConfig, ...guard.guardEnv(), ...zygote.env };
});

afterAll(async () => {
  await zygote?.stop();
  await guard?.close();
  if (emptyConfig) rmSync(emptyConfig, { recursive: true, force: true });
});

describe('every gcloud command of the plan', () => {
  it('parses in the installed gcloud: each stops at the missing account, none at an argument error', async () => {
    const stepsByConfig = CONFIGS.map(everyStep);
    const names = new Set(stepsByConfig.flatMap((steps, index) => [...resourceNamesOf(steps, CONFIGS[index]!)]));
    const commands = representativeCommands(commandsOf(stepsByConfig), names);
    const results = await check(commands);
    expect(commands.length).toBeGreaterThan(20);
    expect(report(results.filter((verdict) => verdict.outcome !== 'parsed'))).toBe('');
    expect(guard.escapes).toEqual([]);
  });

  it('reports a broken flag as an argument error, naming exactly that command', async () => {
    const { steps, brokenArgv, brokenFlag } = withBrokenFlag(everyStep(CONFIGS[0]!));
    const names = resourceNamesOf(steps, CONFIGS[0]!);
    const results = await check(representativeCommands(gcloudCommands(steps, plausibleValues(steps, CONFIGS[0]!)), names));
    const failures = results.filter((verdict) => verdict.outcome !== 'parsed');
    expect(failures.map((verdict) => [verdict.outcome, verdict.argv.join(' ')])).toEqual([['argument-error', brokenArgv.join(' ')]]);
    expect(failures[0]!.message).toContain(`unrecognized arguments: ${brokenFlag}`);
  });

  it('gets the same verdicts from the zygote as from the installed gcloud started afresh', async () => {
    const steps = everyStep(CONFIGS[0]!);
    const [good] = gcloudCommands(steps, plausibleValues(steps, CONFIGS[0]!)) as [string[]];
    const { brokenArgv } = withBrokenFlag(steps);
    const viaZygote = await check([good, brokenArgv]);
    const afresh = await checkParsing([good, brokenArgv], { env, cwd: emptyConfig });
    expect(afresh.map((verdict) => [verdict.outcome, verdict.message])).toEqual(viaZygote.map((verdict) => [verdict.outcome, verdict.message]));
    expect(afresh.map((verdict) => verdict.outcome)).toEqual(['parsed', 'argument-error']);
  });
});
