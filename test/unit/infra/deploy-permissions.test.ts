import { describe, expect, it } from 'vitest';
import { parseDeployConfig } from '../../../infra/deploy-config.js';
import { planDeployment } from '../../../infra/plan.js';
import { serviceAccountEmail, serviceAccountId } from '../../../infra/plan-iam.js';
import type { Stack } from '../../../infra/plan-steps.js';
import { type FunctionSpec, STACK } from '../../../infra/stack.js';
import { CloudRunServingDeployer } from '../../../shared/adapters/cloud-run/cloud-run-serving-deployer.js';
import { baseService, FakeCloudRun, PARENT, PROJECT, REGION, type Recorded } from '../../support/fake-cloud-run.js';
import { covers, ROLE_PERMISSIONS } from '../../support/role-permissions.js';

/** A permission checked on the project, or on one service account (`actAs`). */
interface Need {
  permission: string;
  on: string;
}

const CONFIG = parseDeployConfig({ project: PROJECT, region: REGION, bucket: 'demo-artifacts', serving: { auth: 'iam' } });
const DEPLOYER = `serviceAccount:${serviceAccountEmail(serviceAccountId('serving-rollout'), PROJECT)}`;

/** What each Cloud Run Admin API v2 request needs (run/docs/reference/iam/permissions). */
function needsOf({ method, path, body }: Recorded): Need[] {
  const project = `project ${PROJECT}`;
  if (method === 'GET') {
    const kind = path.includes('/operations/') ? 'operations' : path.includes('/revisions/') ? 'revisions' : 'services';
    return [{ permission: `run.${kind}.get`, on: project }];
  }
  const needs = [{ permission: method === 'POST' ? 'run.services.create' : 'run.services.update', on: project }];
  // Creating or updating a service with the invoker check off changes who may call it: an IAM policy change.
  if (body?.invokerIamDisabled) needs.push({ permission: 'run.services.setIamPolicy', on: project });
  const account = body?.template?.serviceAccount;
  if (typeof account === 'string') needs.push({ permission: 'iam.serviceAccounts.actAs', on: `service account ${account}` });
  return needs;
}

/** The permissions the plan grants `member`, by where each role is granted. */
function grantsOf(stack: Stack, member: string): Need[] {
  const suffix = ` for ${member} on `;
  return planDeployment(stack, CONFIG)
    .filter((step) => step.kind === 'iam-binding' && step.name.includes(suffix))
    .flatMap((step) => {
      const [role, on] = step.name.split(suffix) as [string, string];
      return (ROLE_PERMISSIONS[role] ?? []).map((permission) => ({ permission, on }));
    });
}

/** Needs no grant covers; a project-wide grant covers every resource in the project. */
function missing(needs: Need[], grants: Need[]): string[] {
  const covered = (need: Need) =>
    grants.some((grant) => covers(grant.permission, need.permission) && (grant.on === need.on || grant.on === `project ${PROJECT}`));
  return [...new Set(needs.filter((need) => !covered(need)).map((need) => `${need.permission} on ${need.on}`))];
}

/** Every request serving-rollout makes to roll out a model twice: create its service, then a new revision. */
async function rolloutRequests(
  run: (deployer: CloudRunServingDeployer) => Promise<unknown> = async (deployer) => {
    await deployer.deploy('churn', 1);
    await deployer.deploy('churn', 2);
  },
): Promise<Recorded[]> {
  const fake = new FakeCloudRun();
  fake.services.set(`${PARENT}/services/serve`, { ...baseService(), invokerIamDisabled: true });
  const fetchImpl: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const body = init?.body ? JSON.parse(String(init.body)) : undefined;
    const method = init?.method ?? 'GET';
    fake.requests.push({ method, path: url.pathname + url.search, body });
    const [status, payload] = fake.handle(method, url, body);
    return new Response(JSON.stringify(payload), { status, headers: { 'content-type': 'application/json' } });
  };
  const auth = { getClient: async () => ({ getRequestHeaders: async () => ({ Authorization: 'Bearer test' }) }) };
  const deployer = new CloudRunServingDeployer({ projectId: PROJECT, region: REGION, auth, fetchImpl, endpoint: 'http://cloud-run.test', pollIntervalMs: 1 });
  await run(deployer);
  return fake.requests;
}

/** The stack with serving-rollout's roles and actAs replaced. */
function withDeployServing(change: Partial<FunctionSpec>): Stack {
  return { ...STACK, functions: STACK.functions.map((spec) => (spec.name === 'serving-rollout' ? { ...spec, ...change } : spec)) };
}

describe('serving-rollout’s service account', () => {
  it('holds every permission a rollout of a copy of the serving service needs', async () => {
    const requests = await rolloutRequests();
    expect(requests.map((request) => request.method)).toEqual(expect.arrayContaining(['POST', 'PATCH']));
    expect(missing(requests.flatMap(needsOf), grantsOf(STACK, DEPLOYER))).toEqual([]);
  });

  it('would be refused with the Cloud Run developer role, which cannot keep the copies’ invoker setting', async () => {
    const broken = withDeployServing({ roles: ['roles/datastore.user', 'roles/run.developer', 'roles/iam.serviceAccountUser'], actAs: [] });
    expect(missing((await rolloutRequests()).flatMap(needsOf), grantsOf(broken, DEPLOYER))).toEqual([`run.services.setIamPolicy on project ${PROJECT}`]);
  });

  it('would be refused without acting as the serving account, and acts as no other', async () => {
    const serving = `service account ${serviceAccountEmail(serviceAccountId('serve'), PROJECT)}`;
    const broken = withDeployServing({ actAs: [] });
    expect(missing((await rolloutRequests()).flatMap(needsOf), grantsOf(broken, DEPLOYER))).toEqual([`iam.serviceAccounts.actAs on ${serving}`]);
    const actAs = grantsOf(STACK, DEPLOYER).filter((grant) => grant.permission === 'iam.serviceAccounts.actAs');
    expect(actAs.map((grant) => grant.on)).toEqual([serving]);
  });
});

/** Every request rollout-serving makes through a canary, a shadow and a sticky split, back to the primary alone after each. */
const experimentRequests = () =>
  rolloutRequests(async (deployer) => {
    await deployer.deploy('churn', 1);
    for (const traffic of [
      { primary: 1, routes: [{ version: 2, percent: 10 }], shadow: null, stickyKey: null },
      { primary: 1, routes: [], shadow: { version: 2, percent: 100 }, stickyKey: null },
      { primary: 1, routes: [{ version: 2, percent: 50 }], shadow: null, stickyKey: 'header:x-user-id' },
    ]) {
      await deployer.route('churn', traffic);
      await deployer.deploy('churn', 1);
    }
  });

describe('rollout-serving’s service account', () => {
  const member = `serviceAccount:${serviceAccountEmail(serviceAccountId('rollout-serving'), PROJECT)}`;

  it('holds every permission moving traffic between tagged revisions needs', async () => {
    const requests = await experimentRequests();
    expect(requests.filter((request) => request.method === 'PATCH').length).toBeGreaterThan(6);
    expect(missing(requests.flatMap(needsOf), grantsOf(STACK, member))).toEqual([]);
  });

  it('would be refused without acting as the serving account', async () => {
    const broken = { ...STACK, functions: STACK.functions.map((spec) => (spec.name === 'rollout-serving' ? { ...spec, actAs: [] } : spec)) };
    const serving = `service account ${serviceAccountEmail(serviceAccountId('serve'), PROJECT)}`;
    expect(missing((await experimentRequests()).flatMap(needsOf), grantsOf(broken, member))).toEqual([`iam.serviceAccounts.actAs on ${serving}`]);
  });
});

/** Permissions of the BigQuery and Pub/Sub roles (iam/docs/roles-permissions/bigquery, /pubsub), limited to what the platform calls. */
const DATA_ROLE_PERMISSIONS: Record<string, string[]> = {
  'roles/bigquery.dataViewer': [
    'bigquery.datasets.get',
    'bigquery.tables.get',
    'bigquery.tables.getData',
    'bigquery.tables.list',
    'resourcemanager.projects.get',
  ],
  'roles/bigquery.jobUser': ['bigquery.jobs.create', 'bigquery.config.get', 'resourcemanager.projects.get'],
  'roles/pubsub.publisher': ['pubsub.topics.publish'],
};

/**
 * What analyse-rollouts calls in a run: its figures are query jobs reading predictions, request_outcomes and
 * ground_truth; each rollout is read and moved in a Firestore transaction with an audit entry; a change is published.
 */
const ANALYSER_NEEDS = [
  'bigquery.jobs.create',
  'bigquery.tables.getData',
  'datastore.entities.get',
  'datastore.entities.list',
  'datastore.entities.update',
  'datastore.entities.create',
  'pubsub.topics.publish',
].map((permission) => ({ permission, on: `project ${PROJECT}` }));

describe('analyse-rollouts’s service account', () => {
  const member = `serviceAccount:${serviceAccountEmail(serviceAccountId('analyse-rollouts'), PROJECT)}`;
  const grants = (stack: Stack) => {
    const roles = planDeployment(stack, CONFIG)
      .filter((step) => step.kind === 'iam-binding' && step.name.includes(` for ${member} on project ${PROJECT}`))
      .map((step) => step.name.split(' for ')[0]!);
    return roles.flatMap((role) =>
      [...(ROLE_PERMISSIONS[role] ?? []), ...(DATA_ROLE_PERMISSIONS[role] ?? [])].map((permission) => ({ permission, on: `project ${PROJECT}` })),
    );
  };
  const withRoles = (roles: string[]): Stack => ({
    ...STACK,
    functions: STACK.functions.map((spec) => (spec.name === 'analyse-rollouts' ? { ...spec, roles } : spec)),
  });

  it('holds what a run calls (query jobs, the registry, publishing) and cannot write the warehouse', () => {
    expect(missing(ANALYSER_NEEDS, grants(STACK))).toEqual([]);
    expect(grants(STACK).filter((grant) => /^bigquery\.tables\.(updateData|update|create|delete)$/.test(grant.permission))).toEqual([]);
  });

  it('would be refused its query jobs without bigquery.jobUser', () => {
    const roles = STACK.functions.find((spec) => spec.name === 'analyse-rollouts')!.roles.filter((role) => role !== 'roles/bigquery.jobUser');
    expect(missing(ANALYSER_NEEDS, grants(withRoles(roles)))).toEqual([`bigquery.jobs.create on project ${PROJECT}`]);
  });
});
