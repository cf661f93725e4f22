import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type CloudRunService,
  type EnvVar,
  MAX_REVISION_NAME,
  MAX_SERVICE_ID,
  isPinnedTo,
  isSettled,
  pinnedService,
  revisionName,
  serviceIdFor,
  serviceName,
} from '../../../../../shared/adapters/cloud-run/cloud-run-requests.js';
import { CloudRunServingDeployer } from '../../../../../shared/adapters/cloud-run/cloud-run-serving-deployer.js';
import { baseService, FakeCloudRun, PARENT, PROJECT, REGION, serveFakeCloudRun } from '../../../../support/fake-cloud-run.js';

const VALID_REVISION = /^[a-z](?:[a-z0-9-]*[a-z0-9])?$/;

const envOf = (service: CloudRunService, container = 0): EnvVar[] => service.template?.containers?.[container]?.env ?? [];
const valuesOf = (env: EnvVar[], name: string) => env.filter((variable) => variable.name === name).map((variable) => variable.value);

describe('Cloud Run request builders', () => {
  it('names services by full resource name and model services serve-<model>', () => {
    expect(serviceName(PROJECT, REGION, 'serve-churn')).toBe(`${PARENT}/services/serve-churn`);
    expect(serviceIdFor('churn')).toBe('serve-churn');
    expect(serviceIdFor('churn', 'mlops-')).toBe('mlops-churn');
  });

  it('shortens model names that do not fit a service id, keeping them distinct', () => {
    const long = `a${'b'.repeat(60)}`;
    const ids = [serviceIdFor(`${long}x`), serviceIdFor(`${long}y`), serviceIdFor('ends-with-')];
    for (const id of ids) expect(id).toMatch(/^[a-z](?:[a-z0-9-]*[a-z0-9])?$/);
    for (const id of ids) expect(id.length).toBeLessThanOrEqual(MAX_SERVICE_ID);
    expect(new Set(ids).size).toBe(3);
  });

  it('gives revisions valid names, the same for the same nonce and new ones for every deploy', () => {
    const names = [revisionName('serve-churn', 2, 'a'), revisionName('serve-churn', 2, 'b'), revisionName('serve-churn', 3, 'a')];
    expect(names[0]).toMatch(/^serve-churn-v2-[0-9a-f]{8}$/);
    expect(revisionName('serve-churn', 2, 'a')).toBe(names[0]);
    expect(new Set(names).size).toBe(3);
    const longest = revisionName(serviceIdFor('m'.repeat(63)), Number.MAX_SAFE_INTEGER, 'a');
    expect(longest.length).toBeLessThanOrEqual(MAX_REVISION_NAME);
    for (const name of [...names, longest]) expect(name).toMatch(VALID_REVISION);
  });

  it('builds a model service from the base: same image, resources, account and scaling, pinned env', () => {
    const base = baseService();
    const service = pinnedService(base, { model: 'churn', version: 2, revision: 'serve-churn-v2-0123abcd' });
    const template = service.template!;
    const container = template.containers![0]!;
    expect(container.image).toBe(base.template!.containers![0]!.image);
    expect(container.resources).toEqual(base.template!.containers![0]!.resources);
    expect(template).toMatchObject({ serviceAccount: base.template!.serviceAccount, scaling: base.template!.scaling, revision: 'serve-churn-v2-0123abcd' });
    expect(envOf(service)).toEqual([...envOf(base), { name: 'MLOPS_SERVE_MODEL', value: 'churn' }, { name: 'MLOPS_SERVE_VERSION', value: '2' }]);
    expect(service.traffic).toEqual([{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100 }]);
    expect(isPinnedTo(service, 'churn', 2)).toBe(true);
  });

  it('labels service and revision with model and version, dropping Google-managed labels and output fields', () => {
    const service = pinnedService(baseService(), { model: 'churn', version: 2, revision: 'serve-churn-v2-0123abcd' });
    expect(service.labels).toEqual({ 'mlops-component': 'serve', 'mlops-model': 'churn', 'mlops-version': '2' });
    expect(service.template?.labels).toEqual({ 'mlops-model': 'churn', 'mlops-version': '2' });
    expect(service.annotations).toEqual({});
    for (const field of ['name', 'uid', 'uri', 'etag', 'latestReadyRevision', 'terminalCondition', 'reconciling', 'createTime']) {
      expect(service).not.toHaveProperty(field);
    }
  });

  it('replaces the pinned env of a re-deployed service instead of duplicating it, and leaves sidecars alone', () => {
    const first = pinnedService(baseService(), { model: 'churn', version: 2, revision: 'r2' });
    const sidecar = { name: 'otel', image: 'otel/collector', env: [{ name: 'MLOPS_SERVE_VERSION', value: 'unrelated' }] };
    const withSidecar = { ...first, template: { ...first.template, containers: [sidecar, ...first.template!.containers!] } };
    const second = pinnedService(withSidecar, { model: 'churn', version: 3, revision: 'r3' });
    expect(valuesOf(envOf(second, 1), 'MLOPS_SERVE_VERSION')).toEqual(['3']);
    expect(valuesOf(envOf(second, 1), 'MLOPS_SERVE_MODEL')).toEqual(['churn']);
    expect(valuesOf(envOf(second, 1), 'MLOPS_SERVE_ALIAS')).toEqual(['production']);
    expect(second.template?.containers?.[0]).toEqual(sidecar);
    expect([isPinnedTo(second, 'churn', 3), isPinnedTo(second, 'churn', 2), isPinnedTo(second, 'other', 3)]).toEqual([true, false, false]);
  });

  it('is settled only when the latest created revision is ready and nothing is rolling', () => {
    const ready = baseService();
    expect(isSettled(ready)).toBe(true);
    expect(isSettled({ ...ready, latestCreatedRevision: `${PARENT}/services/serve/revisions/serve-00004-abc` })).toBe(false);
    expect(isSettled({ ...ready, reconciling: true })).toBe(false);
  });
});

describe('CloudRunServingDeployer against a fake Admin API', () => {
  let server: { endpoint: string; close(): Promise<void> };
  let fake: FakeCloudRun;
  let deployer: CloudRunServingDeployer;
  const auth = { getClient: async () => ({ getRequestHeaders: async () => ({ Authorization: 'Bearer test' }) }) };

  beforeAll(async () => {
    server = await serveFakeCloudRun(() => fake);
  });

  afterAll(() => server.close());

  beforeEach(() => {
    fake = new FakeCloudRun();
    fake.services.set(`${PARENT}/services/serve`, baseService());
    const { endpoint } = server;
    deployer = new CloudRunServingDeployer({ projectId: PROJECT, region: REGION, auth, endpoint, pollIntervalMs: 1 });
  });

  it('creates serve-churn from the base template on first deploy, waits for the operation and returns its URL', async () => {
    const deployment = await deployer.deploy('churn', 1);
    const create = fake.writes;
    expect(create).toHaveLength(1);
    expect(create[0]).toMatchObject({ method: 'POST', path: `/v2/${PARENT}/services?serviceId=serve-churn` });
    expect(create[0]?.body?.template?.containers?.[0]?.image).toBe(baseService().template?.containers?.[0]?.image);
    expect(valuesOf(envOf(create[0]!.body!), 'MLOPS_SERVE_VERSION')).toEqual(['1']);
    expect(fake.requests.filter((request) => request.path.includes('/operations/'))).toHaveLength(2);
    expect(deployment).toMatchObject({
      model: 'churn',
      version: 1,
      url: 'https://serve-churn-k3x7q2-ew.a.run.app',
      revision: create[0]?.body?.template?.revision,
    });
    expect(fake.requests.every((request) => request.authorization === 'Bearer test')).toBe(true);
  });

  it('makes no write request when the version is already served', async () => {
    const first = await deployer.deploy('churn', 1);
    const again = await deployer.deploy('churn', 1);
    expect(fake.writes).toHaveLength(1);
    expect(again).toMatchObject({ url: first.url, revision: first.revision, version: 1 });
    expect(await deployer.current('churn')).toMatchObject({ url: first.url, revision: first.revision, version: 1 });
  });

  it('PATCHes the model service with the new version, and rolls back to a fresh revision name', async () => {
    const first = await deployer.deploy('churn', 1);
    const second = await deployer.deploy('churn', 2);
    const patch = fake.writes[1]!;
    expect(patch).toMatchObject({ method: 'PATCH', path: `/v2/${PARENT}/services/serve-churn` });
    expect(valuesOf(envOf(patch.body!), 'MLOPS_SERVE_VERSION')).toEqual(['2']);
    // The new revision is made first, taking no traffic; the last write moves the traffic and relabels the service.
    expect(fake.writes.at(-1)?.body?.labels).toMatchObject({ 'mlops-model': 'churn', 'mlops-version': '2' });
    expect(second).toMatchObject({ version: 2, url: first.url, revision: patch.body?.template?.revision });
    const rollback = await deployer.deploy('churn', 1);
    expect(new Set([first.revision, second.revision, rollback.revision]).size).toBe(3);
    expect(await deployer.current('churn')).toMatchObject({ version: 1, revision: rollback.revision });
  });

  it('throws the API message when the operation fails, and current() still names the serving version', async () => {
    await deployer.deploy('churn', 1);
    fake.failNextOperation = 'The user-provided container failed to start and listen on the port defined by PORT=8080.';
    await expect(deployer.deploy('churn', 2)).rejects.toThrow(/container failed to start and listen/);
    expect(await deployer.current('churn')).toMatchObject({ version: 1 });
  });

  it('tells the user to run npm run deploy first when the base service is missing', async () => {
    fake.services.clear();
    await expect(deployer.deploy('churn', 1)).rejects.toThrow(/base serving service "serve".*npm run deploy/s);
    expect(fake.writes).toHaveLength(0);
    expect(await deployer.current('churn')).toBeUndefined();
  });
});
