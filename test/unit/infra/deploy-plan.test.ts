import { describe, expect, it } from 'vitest';
import { COMPONENTS, parseDeployConfig } from '../../../infra/deploy-config.js';
import { deploymentProblems, planDeployment } from '../../../infra/plan.js';
import { TABLE_COMPONENTS } from '../../../infra/plan-storage.js';
import { serviceAccountId } from '../../../infra/plan-iam.js';
import type { Step, StepKind } from '../../../infra/plan-steps.js';
import { FUNCTIONS, SCHEDULER_JOBS, STACK, SUBSCRIPTIONS } from '../../../infra/stack.js';
import { planTeardown } from '../../../infra/teardown.js';
import { applyPlan, runTeardown } from '../../../scripts/lib/deploy/apply-plan.js';
import { formatPlan } from '../../../scripts/lib/deploy/print-plan.js';
import { TABLES } from '../../../shared/domain/tables.js';
import { ACME_CONFIG } from '../../support/deploy-config.js';
import { FakeCloud } from '../../support/fake-cloud.js';

const CONFIG = ACME_CONFIG;
const FAST = { attempts: 1, retryDelayMs: 0 };

const plan = planDeployment(STACK, CONFIG);
const namesOf = (steps: Step[], ...kinds: StepKind[]) => steps.filter((step) => kinds.includes(step.kind)).map((step) => step.name);
/** The id of the step deploying a function: a Cloud Run service when it has a direct server entry. */
const deployIdOf = (spec: (typeof FUNCTIONS)[number]) => (spec.server ? `service:${spec.name}` : `function:${spec.name}`);
const sorted = (names: string[]) => [...names].sort();
const without = (...off: string[]) => parseDeployConfig({ ...CONFIG, components: Object.fromEntries(off.map((name) => [name, false])) });

describe('planDeployment', () => {
  it('prints the same plan for the same config (snapshot of the dry run)', async () => {
    await expect(`${formatPlan(plan)}\n`).toMatchFileSnapshot('./__snapshots__/deploy-plan.dry-run.txt');
  });

  it('deploys every topic, subscription, table, scheduler job and function in infra/, and nothing else', () => {
    expect(sorted(namesOf(plan, 'topic', 'dead-letter-topic'))).toEqual(sorted(STACK.topics));
    expect(sorted(namesOf(plan, 'subscription'))).toEqual(sorted(SUBSCRIPTIONS.map((sub) => sub.name)));
    expect(sorted(namesOf(plan, 'table'))).toEqual(sorted(TABLES.map((table) => table.name)));
    expect(sorted(namesOf(plan, 'scheduler-job'))).toEqual(sorted(SCHEDULER_JOBS.map((job) => job.name)));
    expect(sorted(namesOf(plan, 'function', 'service'))).toEqual(sorted(FUNCTIONS.map((spec) => spec.name)));
  });

  it('gives every step a unique id and starts by enabling the APIs', () => {
    expect(new Set(plan.map((step) => step.id)).size).toBe(plan.length);
    expect(plan[0]?.kind).toBe('apis');
  });

  it('creates a topic before anything refers to it, and each function after its service account', () => {
    const index = (id: string) => plan.findIndex((step) => step.id === id);
    expect(index(`topic:${STACK.bucketNotification.topic}`)).toBeLessThan(plan.findIndex((step) => step.kind === 'bucket-notification'));
    for (const spec of FUNCTIONS) {
      const account = index(`service-account:${serviceAccountId(spec.name)}`);
      expect(account).toBeGreaterThanOrEqual(0);
      expect(account).toBeLessThan(index(deployIdOf(spec)));
      if (spec.trigger.type === 'topic') expect(index(`topic:${spec.trigger.topic}`)).toBeLessThan(index(deployIdOf(spec)));
    }
  });

  it('deploys a per-model function once, as the base service serving-rollout copies', () => {
    for (const spec of FUNCTIONS.filter((candidate) => candidate.perModel)) {
      const step = plan.find((candidate) => candidate.id === deployIdOf(spec))!;
      expect(step.summary).toMatch(/base service.*per model/);
      expect(plan.filter((candidate) => candidate.id === step.id)).toHaveLength(1);
    }
  });

  it('gives each Eventarc subscription the dead-letter topic and retry policy of infra/', () => {
    for (const sub of SUBSCRIPTIONS) {
      const argv = (plan.find((step) => step.id === `subscription:${sub.name}`)!.apply as { argv: string[] }).argv;
      expect(argv).toEqual(
        expect.arrayContaining([`--dead-letter-topic=projects/acme-mlops/topics/${sub.deadLetterTopic}`, '--max-delivery-attempts=5', '--min-retry-delay=10s']),
      );
    }
  });

  it('refuses a schedule override for a job infra/ does not have, and a bad cron', () => {
    expect(() => planDeployment(STACK, parseDeployConfig({ ...CONFIG, schedules: { nightly: '0 3 * * *' } }))).toThrow(/unknown scheduler job "nightly"/);
    const [job] = SCHEDULER_JOBS;
    if (job) expect(() => planDeployment(STACK, parseDeployConfig({ ...CONFIG, schedules: { [job.name]: '0 25 * * *' } }))).toThrow(/out of range/);
  });

  it('warns when the HTTPS functions would be public without any API key', () => {
    expect(deploymentProblems(STACK, CONFIG)).toEqual([]);
    expect(deploymentProblems(STACK, parseDeployConfig({ ...CONFIG, serving: {} }))[0]).toMatch(/would answer anyone/);
    expect(deploymentProblems(STACK, parseDeployConfig({ ...CONFIG, serving: {} }), { allowPublic: true })).toEqual([]);
    expect(deploymentProblems(STACK, parseDeployConfig({ ...CONFIG, serving: { auth: 'iam' } }))).toEqual([]);
  });
});

describe.each(COMPONENTS)('switching off %s', (component) => {
  const reduced = planDeployment(STACK, without(component));

  it('removes exactly the steps of that component', () => {
    const expected = plan.filter((step) => step.component !== component).map((step) => step.id);
    expect(reduced.map((step) => step.id)).toEqual(expected);
  });

  it('removes its functions, their subscriptions, its tables and its scheduler jobs', () => {
    const functions = FUNCTIONS.filter((spec) => spec.component === component).map((spec) => spec.name);
    expect(namesOf(reduced, 'function').filter((name) => functions.includes(name))).toEqual([]);
    expect(namesOf(reduced, 'subscription').filter((name) => SUBSCRIPTIONS.some((sub) => sub.name === name && functions.includes(sub.function)))).toEqual([]);
    expect(namesOf(reduced, 'table').filter((name) => TABLE_COMPONENTS[name] === component)).toEqual([]);
    expect(namesOf(reduced, 'scheduler-job').filter((name) => SCHEDULER_JOBS.some((job) => job.name === name && job.component === component))).toEqual([]);
  });
});

describe('applyPlan with a fake cloud', () => {
  const mutating = plan.filter((step) => step.kind !== 'lookup');

  it('creates everything on an empty project, then changes nothing on a second run', async () => {
    const cloud = new FakeCloud();
    const first = await applyPlan(plan, cloud, FAST);
    expect(cloud.changes().map((call) => call.stepId)).toEqual(mutating.map((step) => step.id));
    expect(new Set(first.values())).toEqual(new Set(['created', 'read']));

    cloud.calls.length = 0;
    const second = await applyPlan(plan, cloud, FAST);
    expect(cloud.changes()).toEqual([]);
    expect(new Set(second.values())).toEqual(new Set(['unchanged', 'read']));
  });

  it('changes nothing in a project where everything already exists', async () => {
    const cloud = FakeCloud.containing(plan);
    await applyPlan(plan, cloud, FAST);
    expect(cloud.changes()).toEqual([]);
    expect(cloud.calls.filter((call) => call.purpose === 'check')).toHaveLength(mutating.length);
  });

  it('fills in the values lookups read, such as the subscription Eventarc created', async () => {
    const cloud = new FakeCloud();
    await applyPlan(plan, cloud, FAST);
    const sent = JSON.stringify(cloud.calls.map((call) => call.call));
    expect(sent).not.toContain('${');
    const [sub] = SUBSCRIPTIONS;
    if (sub) {
      const update = cloud.calls.find((call) => call.stepId === `subscription:${sub.name}` && call.purpose === 'apply');
      expect((update?.call as { argv: string[] } | undefined)?.argv.join(' ')).toMatch(/subscriptions update looked-up-[a-z_]+_subscription/);
    }
  });

  it('updates only what drifted: a changed schedule, a function whose code changed', async () => {
    const cloud = FakeCloud.containing(plan);
    const job = plan.find((step) => step.kind === 'scheduler-job');
    if (job) cloud.resources.set(job.id, JSON.stringify({ schedule: '*/5 * * * *' }));
    const [spec] = FUNCTIONS;
    const changedCode = planDeployment(STACK, CONFIG, { sourceHashes: { [spec!.name]: 'new-bundle-hash' } });
    await applyPlan(changedCode, cloud, FAST);
    const changes = cloud.changes().map((call) => `${call.purpose} ${call.stepId}`);
    expect(sorted(changes)).toEqual(sorted([...(job ? [`update ${job.id}`] : []), `apply ${deployIdOf(spec!)}`]));
  });
});

describe('teardown with a fake cloud', () => {
  it('removes everything but the data, newest first, and a second run finds nothing to remove', async () => {
    const cloud = new FakeCloud();
    await applyPlan(plan, cloud, FAST);
    const teardown = planTeardown(plan);
    await runTeardown(teardown, cloud, FAST);

    const destroyed = [
      ...new Set(
        cloud
          .changes()
          .filter((call) => call.purpose === 'destroy')
          .map((call) => call.stepId),
      ),
    ];
    const removable = plan.filter((step) => step.destroy && !step.holdsData).map((step) => step.id);
    expect(destroyed).toEqual(removable.reverse());
    const kept = plan.filter((step) => step.holdsData).map((step) => step.id);
    expect(kept.length).toBeGreaterThan(0);
    for (const id of kept) expect(cloud.resources.has(id), id).toBe(true);

    cloud.calls.length = 0;
    await runTeardown(teardown, cloud, FAST);
    expect(cloud.changes()).toEqual([]);
  });

  it('deletes the bucket, tables, dataset and registry only with --delete-data', async () => {
    const cloud = FakeCloud.containing(plan);
    await runTeardown(planTeardown(plan, { deleteData: true }), cloud, FAST);
    const kinds = new Set(plan.filter((step) => cloud.calls.some((call) => call.stepId === step.id && call.purpose === 'destroy')).map((step) => step.kind));
    for (const kind of ['bucket', 'table', 'dataset', 'firestore'] as const) expect(kinds.has(kind), kind).toBe(true);
    expect([...cloud.resources.keys()].filter((id) => plan.find((step) => step.id === id)?.destroy)).toEqual([]);
  });

  it('removes the per-model copies of a served function along with its base', () => {
    const base = planTeardown(plan).find((step) => FUNCTIONS.some((spec) => spec.perModel && deployIdOf(spec) === step.id));
    expect(base?.destroy?.map((call) => (call.kind === 'api' ? call.method : call.argv.slice(1, 4).join(' ')))).toEqual([
      'services.deleteLabelled',
      'run services delete',
      'artifacts packages delete',
    ]);
  });
});
