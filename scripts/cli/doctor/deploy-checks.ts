import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { REQUIRED_APIS } from '../../../infra/plan.js';
import { type CheckResult, firstLine, runTool } from './check.js';

/** What the deploy checks look at. Each gcloud call that needs the network is bounded by `timeoutMs`. */
export interface DeployCheckOptions {
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** --project, else mlops.deploy.json's, else gcloud's configured project. */
  project?: string;
  deployConfigFile: string;
}

const deploy = (result: Omit<CheckResult, 'group' | 'required'>, required = true): CheckResult => ({ group: 'deploy', required, ...result });
const skipped = (name: string, why: string, required = true) => deploy({ name, status: 'unchecked', detail: `could not check: ${why}` }, required);

/** Credentials, project, billing, APIs and the caller's roles; a check that needs what is missing says so and does not run. */
export async function deployChecks(options: DeployCheckOptions): Promise<CheckResult[]> {
  const [account, project] = await Promise.all([activeAccount(options), projectOf(options)]);
  const results = [account.result, applicationDefaultCredentials(options.env), project.result];
  const blocker = !account.value ? 'no active gcloud account (gcloud auth login)' : !project.value ? 'no project (--project)' : undefined;
  if (blocker) return [...results, skipped('billing', blocker), skipped('APIs', blocker, false), skipped('roles', blocker, false)];
  const online = { ...options, account: account.value!, project: project.value! };
  return [...results, ...(await Promise.all([billing(online), enabledApis(online), roles(online)]))];
}

type Found = { value?: string; result: CheckResult };
type Online = DeployCheckOptions & { account: string; project: string };

async function gcloud(options: DeployCheckOptions, args: string[]) {
  return runTool('gcloud', args, options);
}

/** Why a gcloud call gave nothing: its error, or its silence past the deadline. */
function why(output: Awaited<ReturnType<typeof gcloud>>, timeoutMs: number): string {
  if (output.notInstalled) return 'gcloud is not installed';
  return output.timedOut ? `gcloud did not answer within ${timeoutMs / 1000} s (offline?)` : firstLine(output.stderr);
}

async function activeAccount(options: DeployCheckOptions): Promise<Found> {
  const output = await gcloud(options, ['auth', 'list', '--filter=status:ACTIVE', '--format=value(account)']);
  const account = output.ok ? output.stdout.trim().split('\n')[0] : undefined;
  if (account) return { value: account, result: deploy({ name: 'gcloud account', status: 'ok', detail: account }) };
  const detail = output.ok ? 'no active account' : why(output, options.timeoutMs);
  return { result: deploy({ name: 'gcloud account', status: 'missing', detail, fix: 'gcloud auth login' }) };
}

/** The client-library steps of the deploy (and the CLI against Google Cloud) use Application Default Credentials. */
function applicationDefaultCredentials(env: NodeJS.ProcessEnv): CheckResult {
  const file = env.GOOGLE_APPLICATION_CREDENTIALS ?? join(env.CLOUDSDK_CONFIG ?? join(homedir(), '.config', 'gcloud'), 'application_default_credentials.json');
  if (existsSync(file)) return deploy({ name: 'application default credentials', status: 'ok', detail: file });
  return deploy({ name: 'application default credentials', status: 'missing', detail: `no ${file}`, fix: 'gcloud auth application-default login' });
}

async function projectOf(options: DeployCheckOptions): Promise<Found> {
  const named = options.project ?? projectInDeployConfig(options.deployConfigFile);
  if (named) return { value: named, result: deploy({ name: 'project', status: 'ok', detail: named }) };
  const output = await gcloud(options, ['config', 'get-value', 'project']);
  const configured = output.ok ? output.stdout.trim() : '';
  if (configured && configured !== '(unset)')
    return { value: configured, result: deploy({ name: 'project', status: 'ok', detail: `${configured} (gcloud config)` }) };
  const fix = `set "project" in ${options.deployConfigFile}, or pass --project <id> (or: gcloud config set project <id>)`;
  return { result: deploy({ name: 'project', status: 'missing', detail: 'no project named', fix }) };
}

function projectInDeployConfig(file: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { project?: string }).project || undefined;
  } catch {
    return undefined;
  }
}

async function billing(options: Online): Promise<CheckResult> {
  const output = await gcloud(options, ['billing', 'projects', 'describe', options.project, '--format=value(billingEnabled)']);
  if (!output.ok) return skipped('billing', why(output, options.timeoutMs));
  if (output.stdout.trim().toLowerCase() === 'true') return deploy({ name: 'billing', status: 'ok', detail: `enabled on ${options.project}` });
  const fix = `gcloud billing projects link ${options.project} --billing-account=<ACCOUNT_ID> (list them: gcloud billing accounts list)`;
  return deploy({ name: 'billing', status: 'missing', detail: `not enabled on ${options.project}`, fix });
}

/** Not required: the deploy enables every API it needs; this says which it will enable. */
async function enabledApis(options: Online): Promise<CheckResult> {
  const output = await gcloud(options, ['services', 'list', '--enabled', `--project=${options.project}`, '--format=value(config.name)']);
  if (!output.ok) return skipped('APIs', why(output, options.timeoutMs), false);
  const enabled = new Set(output.stdout.split('\n').map((line) => line.trim()));
  const missing = REQUIRED_APIS.filter((api) => !enabled.has(api));
  if (missing.length === 0) return deploy({ name: 'APIs', status: 'ok', detail: `all ${REQUIRED_APIS.length} enabled` }, false);
  const fix = `gcloud services enable ${missing.join(' ')} --project=${options.project} (or let npm run deploy enable them)`;
  return deploy({ name: 'APIs', status: 'warning', detail: `not enabled yet: ${missing.join(', ')}`, fix }, false);
}

/** Owner, or Editor plus Project IAM Admin, granted to the caller directly (a group's grant is not visible here). */
async function roles(options: Online): Promise<CheckResult> {
  const output = await gcloud(options, ['projects', 'get-iam-policy', options.project, '--format=json']);
  if (!output.ok) return skipped('roles', why(output, options.timeoutMs), false);
  const policy = JSON.parse(output.stdout) as { bindings?: { role: string; members?: string[] }[] };
  const mine = new Set(
    (policy.bindings ?? []).filter((binding) => binding.members?.some((member) => member.endsWith(`:${options.account}`))).map((binding) => binding.role),
  );
  const enough = mine.has('roles/owner') || (mine.has('roles/editor') && mine.has('roles/resourcemanager.projectIamAdmin'));
  if (enough) return deploy({ name: 'roles', status: 'ok', detail: [...mine].join(', ') }, false);
  const fix = `gcloud projects add-iam-policy-binding ${options.project} --member=user:${options.account} --role=roles/owner (run by an owner)`;
  const detail = `${options.account} holds ${[...mine].join(', ') || 'no role'} directly: the deploy needs Owner, or Editor and Project IAM Admin (a group's grant is not seen here)`;
  return deploy({ name: 'roles', status: 'warning', detail, fix }, false);
}
