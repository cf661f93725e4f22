import { describe, expect, it } from 'vitest';
import { parseDeployConfig } from '../../../infra/deploy-config.js';
import { deploymentProblems, planDeployment } from '../../../infra/plan.js';
import { BUILD_ACCOUNT_ID, BUILD_ROLES, PUBSUB_AGENT, serviceAccountEmail, serviceAccountId } from '../../../infra/plan-iam.js';
import type { Step } from '../../../infra/plan-steps.js';
import { NODE_RUNTIMES, RUNTIME, runtimeProblem } from '../../../infra/runtimes.js';
import { FUNCTIONS, STACK } from '../../../infra/stack.js';
import { ACME_CONFIG } from '../../support/deploy-config.js';

const CONFIG = ACME_CONFIG;
const IAM_CONFIG = parseDeployConfig({ ...CONFIG, serving: { auth: 'iam' } });
const plan = planDeployment(STACK, CONFIG);

const argvOf = (step: Step | undefined) => (step?.apply.kind === 'command' ? step.apply.argv : []);
const builds = (steps: Step[]) => steps.filter((step) => step.kind === 'function' || step.kind === 'service');
const httpSpecs = FUNCTIONS.filter((spec) => spec.trigger.type === 'http');
const bindings = (steps: Step[], role: string) => steps.filter((step) => step.kind === 'iam-binding' && step.name.startsWith(`${role} for `));

describe('the runtime', () => {
  it('is neither deprecated nor within 90 days of it today (this test fails in time to move on)', () => {
    expect(runtimeProblem(RUNTIME, new Date())).toBeUndefined();
  });

  it.each([
    ['nodejs20', '2026-12-01', /decommissioned on 2026-10-30/],
    ['nodejs22', '2026-12-01', undefined],
    ['nodejs22', '2027-02-01', /deprecated on 2027-04-30, in 88 days/],
    ['nodejs22', '2027-05-02', /deprecated since 2027-04-30/],
    ['nodejs24', '2028-01-31', /deprecated on 2028-04-30, in 90 days/],
    ['nodejs24', '2028-01-30', undefined],
    ['nodejs26', '2026-12-01', /preview/],
    ['nodejs19', '2026-12-01', /not in Google's Node.js support schedule/],
  ])('judges %s on %s', (runtime, day, expected) => {
    const problem = runtimeProblem(runtime, new Date(`${day}T12:00:00Z`));
    if (expected) expect(problem).toMatch(expected);
    else expect(problem).toBeUndefined();
  });

  it('stops a deploy when the clock reaches the notice period of the chosen runtime', () => {
    const ours = NODE_RUNTIMES.find((runtime) => runtime.id === RUNTIME)!;
    expect('deprecated' in ours).toBe(true);
    const late = new Date(Date.parse(`${(ours as { deprecated: string }).deprecated}T00:00:00Z`) - 30 * 86_400_000);
    expect(deploymentProblems(STACK, CONFIG, { today: late }).join('\n')).toMatch(new RegExp(`Runtime ${RUNTIME} is deprecated on .*infra/runtimes.ts`));
    expect(deploymentProblems(STACK, CONFIG, { today: new Date() })).toEqual([]);
  });

  it('is what every function and the serving service are built on', () => {
    for (const step of builds(plan)) {
      const argv = argvOf(step);
      expect(
        argv.filter((arg) => arg.startsWith('--runtime=') || arg.startsWith('--base-image=')),
        step.id,
      ).toEqual([step.kind === 'service' ? `--base-image=${RUNTIME}` : `--runtime=${RUNTIME}`]);
    }
  });
});

describe('builds on a new project', () => {
  const account = serviceAccountEmail(BUILD_ACCOUNT_ID, CONFIG.project);

  it('run as the platform build account, created with exactly its roles before the first build', () => {
    const index = (id: string) => plan.findIndex((step) => step.id === id);
    const firstBuild = Math.min(...builds(plan).map((step) => index(step.id)));
    expect(index(`service-account:${BUILD_ACCOUNT_ID}`)).toBeLessThan(firstBuild);
    const granted = plan.filter((step) => step.kind === 'iam-binding' && step.name.endsWith(`serviceAccount:${account} on project ${CONFIG.project}`));
    expect(granted.map((step) => step.name.split(' ')[0]).sort()).toEqual([...BUILD_ROLES].sort());
    for (const step of granted) expect(index(step.id)).toBeLessThan(firstBuild);
    for (const step of builds(plan)) expect(argvOf(step), step.id).toContain(`--build-service-account=projects/${CONFIG.project}/serviceAccounts/${account}`);
  });

  it('find the Pub/Sub service agent created before anything is granted to it', () => {
    const identity = plan.findIndex((step) => step.id === 'lookup:pubsub-service-identity');
    expect(argvOf(plan[identity])).toEqual(expect.arrayContaining(['beta', 'services', 'identity', 'create', '--service=pubsub.googleapis.com']));
    const firstGrant = plan.findIndex((step) => step.kind === 'iam-binding' && step.name.includes(PUBSUB_AGENT));
    expect(identity).toBeGreaterThan(0);
    expect(identity).toBeLessThan(firstGrant);
  });
});

describe('who may call and deploy', () => {
  it('never adds an allUsers binding, which organisation policies refuse', () => {
    for (const config of [CONFIG, IAM_CONFIG]) {
      const text = JSON.stringify(planDeployment(STACK, config));
      expect(text).not.toContain('--allow-unauthenticated');
      expect(text).not.toContain('allUsers');
    }
  });

  it('turns the invoker IAM check off for every HTTPS endpoint with API keys, and leaves it on with IAM', () => {
    const iamPlan = planDeployment(STACK, IAM_CONFIG);
    for (const spec of httpSpecs) {
      const serviceArgv = argvOf(plan.find((step) => step.id === `service:${spec.name}`));
      const setting = plan.find((step) => step.id === `service-setting:${spec.name}:invoker-iam-check`);
      expect(serviceArgv.includes('--no-invoker-iam-check') || argvOf(setting).includes('--no-invoker-iam-check'), spec.name).toBe(true);
      expect(JSON.stringify(iamPlan.filter((step) => step.name.startsWith(spec.name) || step.id.endsWith(`:${spec.name}`)))).not.toContain(
        '--no-invoker-iam-check',
      );
    }
  });

  it('runs every function and service with NODE_ENV=production, so error pages carry no stack traces', () => {
    for (const step of builds(plan)) expect(argvOf(step).find((arg) => arg.startsWith('--set-env-vars='))).toMatch(/[=,;]NODE_ENV=production[,;]/);
  });

  it('serves from the direct entry as a Cloud Run service, not under the Functions Framework', () => {
    for (const spec of FUNCTIONS.filter((candidate) => candidate.server)) {
      const argv = argvOf(plan.find((step) => step.id === `service:${spec.name}`));
      expect(argv.slice(0, 4)).toEqual(['gcloud', 'run', 'deploy', spec.name]);
      expect(argv).toContain(`--source=dist/functions/${spec.name}`);
      expect(plan.some((step) => step.id === `function:${spec.name}`)).toBe(false);
    }
  });

  it('lets the two serving deployers (promotions, rollouts) set the copies’ IAM and act as the serving account only, never project-wide', () => {
    const deployers = ['serving-rollout', 'rollout-serving'].map((name) => `serviceAccount:${serviceAccountEmail(serviceAccountId(name), CONFIG.project)}`);
    const serving = serviceAccountEmail(serviceAccountId('serve'), CONFIG.project);
    expect(bindings(plan, 'roles/run.admin').map((step) => step.name)).toEqual(
      deployers.map((member) => `roles/run.admin for ${member} on project ${CONFIG.project}`),
    );
    expect(bindings(plan, 'roles/iam.serviceAccountUser').map((step) => step.name)).toEqual(
      deployers.map((member) => `roles/iam.serviceAccountUser for ${member} on service account ${serving}`),
    );
    const index = (id: string) => plan.findIndex((step) => step.id === id);
    for (const grant of bindings(plan, 'roles/iam.serviceAccountUser'))
      expect(index(`service-account:${serviceAccountId('serve')}`)).toBeLessThan(index(grant.id));
  });
});
