import { FIREBASE_JSON } from '../../../shared/runtime/local-discovery.js';
import type { CheckResult } from './check.js';
import { deployChecks } from './deploy-checks.js';
import { checkBrowser, checkGcloud, checkJava, checkNode, checkPorts, type LocalCheckOptions } from './local-checks.js';

/** What `mlops doctor` checks with; every field has a default, tests pass their own. */
export interface DoctorOptions {
  env?: NodeJS.ProcessEnv;
  /** Also check what a deploy needs (credentials, project, billing, APIs, roles): needs the network. */
  deploy?: boolean;
  project?: string;
  /** Deadline of each check that runs a tool. */
  timeoutMs?: number;
  firebaseJson?: string;
  deployConfigFile?: string;
  nodeVersion?: string;
}

/** Runs every check, concurrently; none throws. */
export async function runDoctor({
  env = process.env,
  deploy = false,
  project,
  timeoutMs = 20_000,
  firebaseJson = FIREBASE_JSON,
  deployConfigFile = 'mlops.deploy.json',
  nodeVersion = process.version,
}: DoctorOptions = {}): Promise<CheckResult[]> {
  const options: LocalCheckOptions = { env, firebaseJson, nodeVersion, deploy, timeoutMs };
  const [java, gcloud, ports, online] = await Promise.all([
    checkJava(options),
    checkGcloud(options),
    checkPorts(options),
    deploy ? deployChecks({ env, timeoutMs, project, deployConfigFile }) : [],
  ]);
  return [checkNode(nodeVersion), java, ...gcloud, ...ports, checkBrowser(), ...online];
}

/** True when every required check passed: doctor's exit code 0. */
export function allRequiredPass(results: CheckResult[]): boolean {
  return results.every((result) => !result.required || result.status === 'ok');
}

const MARK: Record<CheckResult['status'], string> = { ok: 'ok', missing: 'MISSING', warning: 'warning', unchecked: 'UNCHECKED' };

/** The report for people: one line per check, its fix under it, and what to do next. */
export function formatDoctor(results: CheckResult[], { deploy }: { deploy: boolean }): string {
  const width = Math.max(...results.map((result) => result.name.length));
  const section = (group: CheckResult['group']) =>
    results
      .filter((result) => result.group === group)
      .flatMap((result) => [
        `  ${MARK[result.status].padEnd(9)} ${result.name.padEnd(width)}  ${result.detail}`,
        ...(result.fix && result.status !== 'ok' ? [`  ${''.padEnd(9)} ${''.padEnd(width)}  fix: ${result.fix}`] : []),
      ]);
  const failed = results.filter((result) => result.required && result.status !== 'ok').length;
  return [
    'Local platform and tests',
    ...section('local'),
    '',
    ...(deploy ? ['Deploy to Google Cloud', ...section('deploy'), ''] : ['Deploy checks need the network: run mlops doctor --deploy', '']),
    failed === 0 ? 'All required checks pass.' : `${failed} required check${failed === 1 ? '' : 's'} failed: run the fix under each.`,
  ].join('\n');
}
