import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CloudRunService, EnvVar } from '../../shared/adapters/cloud-run/cloud-run-requests.js';
import { CloudRunError, CloudRunServingDeployer } from '../../shared/adapters/cloud-run/cloud-run-serving-deployer.js';
import type { Traffic } from '../../shared/domain/rollout.js';
import { baseService, FakeCloudRun, PARENT, PROJECT, REGION, type Recorded, serveFakeCloudRun } from '../support/fake-cloud-run.js';

// The traffic a rollout asks for, as the Cloud Run deployer writes it: the exact PATCH bodies against
// a recording Admin API, and the order that keeps every request on a ready revision.
const BY_REVISION = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION';
const SERVICE = `${PARENT}/services/serve-churn`;
const TAG_URL_V2 = 'https://v2---serve-churn-k3x7q2-ew.a.run.app';
const alone = (primary: number): Traffic => ({ primary, routes: [], shadow: null, stickyKey: null });
const canary = (percent: number): Traffic => ({ primary: 1, routes: [{ version: 2, percent }], shadow: null, stickyKey: null });
const shadow: Traffic = { primary: 1, routes: [], shadow: { version: 2, percent: 100 }, stickyKey: null };
const split: Traffic = { primary: 1, routes: [{ version: 2, percent: 50 }], shadow: null, stickyKey: 'header:x-user-id' };

const envOf = (body: CloudRunService | undefined): EnvVar[] => body?.template?.containers?.[0]?.env ?? [];
/** The env a revision runs with beyond the base's own variables. */
const pinsOf = (body: CloudRunService | undefined) =>
  Object.fromEntries(
    envOf(body)
      .filter((v) => v.name.startsWith('MLOPS_') && v.name !== 'MLOPS_PROFILE' && v.name !== 'MLOPS_SERVE_ALIAS')
      .map((v) => [v.name, v.value]),
  );
const revisionOf = (write: Recorded | undefined) => write?.body?.template?.revision;

let fake: FakeCloudRun;
let server: Awaited<ReturnType<typeof serveFakeCloudRun>>;
let deployer: CloudRunServingDeployer;
let before: number;
/** The writes since the test's starting point was set up. */
const writes = () => fake.writes.slice(before);

beforeAll(async () => {
  server = await serveFakeCloudRun(() => fake);
});
afterAll(() => server.close());

beforeEach(async () => {
  fake = new FakeCloudRun();
  fake.services.set(`${PARENT}/services/serve`, baseService());
  const auth = { getClient: async () => ({ getRequestHeaders: async () => ({ Authorization: 'Bearer test' }) }) };
  deployer = new CloudRunServingDeployer({ projectId: PROJECT, region: REGION, auth, endpoint: server.endpoint, pollIntervalMs: 1 });
  await deployer.deploy('churn', 1);
  before = fake.writes.length;
});

/** Every revision a write's traffic names was made (and waited for) by an earlier write, never by the same one. */
function expectReadyBeforeRouted(all: Recorded[]): void {
  const made = new Set<string>();
  for (const write of all) {
    for (const target of write.body?.traffic ?? [])
      if (target.revision) expect(made, `${target.revision} routed before it was ready`).toContain(target.revision);
    const revision = revisionOf(write);
    if (revision) made.add(revision);
  }
}

describe('CloudRunServingDeployer.route', () => {
  it('starts a canary at 10%: a tagged revision of the candidate first, then 10% of the traffic to it', async () => {
    const primary = (await deployer.current('churn'))!.revision;
    const deployment = await deployer.route('churn', canary(10));
    const [made, moved] = writes();
    expect(writes()).toHaveLength(2);
    expect(made).toMatchObject({ method: 'PATCH', path: `/v2/${SERVICE}` });
    expect(pinsOf(made!.body)).toEqual({ MLOPS_SERVE_MODEL: 'churn', MLOPS_SERVE_VERSION: '2' });
    expect(made!.body!.traffic).toEqual([{ type: BY_REVISION, revision: primary, percent: 100 }]);
    const candidate = revisionOf(made);
    expect(moved!.body!.traffic).toEqual([
      { type: BY_REVISION, revision: primary, percent: 90 },
      { type: BY_REVISION, revision: candidate, percent: 10, tag: 'v2' },
    ]);
    expect(moved!.body!.template).toEqual(made!.body!.template);
    expect(moved!.body!.labels).toMatchObject({ 'mlops-version': '1' });
    expect(deployment).toMatchObject({ version: 1, revision: primary, traffic: canary(10) });
    expect(await deployer.current('churn')).toMatchObject({ version: 1, revision: primary, traffic: canary(10) });
    expectReadyBeforeRouted(fake.writes);
  });

  it('moves the canary to 50% in one traffic change, and sends nothing when asked for the same traffic again', async () => {
    await deployer.route('churn', canary(10));
    const [made] = writes();
    before = fake.writes.length;
    await deployer.route('churn', canary(50));
    expect(writes()).toHaveLength(1);
    const primary = made!.body!.traffic![0]!.revision;
    expect(writes()[0]!.body!.traffic).toEqual([
      { type: BY_REVISION, revision: primary, percent: 50 },
      { type: BY_REVISION, revision: revisionOf(made), percent: 50, tag: 'v2' },
    ]);
    before = fake.writes.length;
    await deployer.route('churn', canary(50));
    await deployer.deploy('churn', 1).then(() => deployer.route('churn', canary(50)));
    expect(writes().map((write) => write.body?.traffic?.length)).toEqual([1, 2]);
  });

  it('keeps a primary at 0% in the traffic behind its tag when the candidate takes all of it', async () => {
    await deployer.route('churn', canary(100));
    const [, moved] = writes();
    expect(moved!.body!.traffic!.map(({ percent, tag }) => ({ percent, tag }))).toEqual([
      { percent: 0, tag: 'v1' },
      { percent: 100, tag: 'v2' },
    ]);
    expect(await deployer.current('churn')).toMatchObject({ version: 1, traffic: canary(100) });
  });

  it('runs a shadow: its revision tagged at 0% with the shadow role, and a primary revision mirroring to its tag URL', async () => {
    const deployment = await deployer.route('churn', shadow);
    const [copy, mirroring, moved] = writes();
    expect(writes()).toHaveLength(3);
    expect(pinsOf(copy!.body)).toEqual({ MLOPS_SERVE_MODEL: 'churn', MLOPS_SERVE_VERSION: '2', MLOPS_SERVE_ROLE: 'shadow' });
    expect(pinsOf(mirroring!.body)).toEqual({
      MLOPS_SERVE_MODEL: 'churn',
      MLOPS_SERVE_VERSION: '1',
      MLOPS_SHADOW_URL: TAG_URL_V2,
      MLOPS_SHADOW_PERCENT: '100',
    });
    expect(moved!.body!.traffic).toEqual([
      { type: BY_REVISION, revision: revisionOf(mirroring), percent: 100 },
      { type: BY_REVISION, revision: revisionOf(copy), percent: 0, tag: 'v2' },
    ]);
    expect(deployment).toMatchObject({ version: 1, revision: revisionOf(mirroring), traffic: shadow });
    expect(await deployer.current('churn')).toMatchObject({ version: 1, traffic: shadow });
    expectReadyBeforeRouted(fake.writes);
  });

  it('runs a sticky split: the candidate tagged at 0%, the primary forwarding its share by sticky key', async () => {
    await deployer.route('churn', split);
    const [candidate, forwarding, moved] = writes();
    expect(pinsOf(candidate!.body)).toEqual({ MLOPS_SERVE_MODEL: 'churn', MLOPS_SERVE_VERSION: '2' });
    expect(pinsOf(forwarding!.body)).toEqual({
      MLOPS_SERVE_MODEL: 'churn',
      MLOPS_SERVE_VERSION: '1',
      MLOPS_SPLIT_URL: TAG_URL_V2,
      MLOPS_SPLIT_PERCENT: '50',
      MLOPS_STICKY_KEY: 'header:x-user-id',
    });
    expect(moved!.body!.traffic).toEqual([
      { type: BY_REVISION, revision: revisionOf(forwarding), percent: 100 },
      { type: BY_REVISION, revision: revisionOf(candidate), percent: 0, tag: 'v2' },
    ]);
    expect(await deployer.current('churn')).toMatchObject({ version: 1, traffic: split });
    expectReadyBeforeRouted(fake.writes);
  });

  it('goes back to the primary alone without tags: a canary in one change, a shadow through a fresh plain revision', async () => {
    await deployer.route('churn', canary(10));
    const [, moved] = writes();
    before = fake.writes.length;
    const back = await deployer.deploy('churn', 1);
    expect(writes().map((write) => write.body?.traffic)).toEqual([[{ type: BY_REVISION, revision: moved!.body!.traffic![0]!.revision, percent: 100 }]]);
    expect(back.traffic).toBeUndefined();
    await deployer.route('churn', shadow);
    before = fake.writes.length;
    await deployer.deploy('churn', 1);
    const [plain, alone1] = writes();
    expect(pinsOf(plain!.body)).toEqual({ MLOPS_SERVE_MODEL: 'churn', MLOPS_SERVE_VERSION: '1' });
    expect(alone1!.body!.traffic).toEqual([{ type: BY_REVISION, revision: revisionOf(plain), percent: 100 }]);
    expect(await deployer.current('churn')).toEqual(expect.not.objectContaining({ traffic: expect.anything() }));
  });

  it('promotes the canary by moving all traffic to its revision, with no new one', async () => {
    await deployer.route('churn', canary(50));
    const candidate = revisionOf(writes()[0]);
    before = fake.writes.length;
    const promoted = await deployer.route('churn', alone(2));
    expect(writes()).toHaveLength(1);
    expect(writes()[0]!.body!.traffic).toEqual([{ type: BY_REVISION, revision: candidate, percent: 100 }]);
    expect(writes()[0]!.body!.labels).toMatchObject({ 'mlops-version': '2' });
    expect(promoted).toMatchObject({ version: 2, revision: candidate });
  });

  it('refuses, as a permanent error and without writing, traffic Cloud Run cannot split', async () => {
    const refused: [Traffic, RegExp][] = [
      [canary(2.5), /whole percents/],
      [{ ...split, routes: [...split.routes, { version: 3, percent: 10 }] }, /one candidate/],
      [{ ...canary(10), shadow: { version: 2, percent: 5 } }, /one part of the traffic/],
    ];
    for (const [traffic, message] of refused) {
      const error = await deployer.route('churn', traffic).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(CloudRunError);
      expect(error).toMatchObject({ permanent: true, message: expect.stringMatching(message) });
    }
    expect(writes()).toEqual([]);
    // Checked before anything is made: a model without a service gets none.
    await expect(deployer.route('fraud', canary(2.5))).rejects.toThrow(/whole percents/);
    expect(writes()).toEqual([]);
  });
});
