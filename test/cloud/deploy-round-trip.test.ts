import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDeployConfig } from '../../infra/deploy-config.js';
import { planDeployment } from '../../infra/plan.js';
import { BUILD_ACCOUNT_ID, serviceAccountEmail, serviceAccountId, serviceAccountResource } from '../../infra/plan-iam.js';
import type { Step } from '../../infra/plan-steps.js';
import { RUNTIME } from '../../infra/runtimes.js';
import { MAX_DELIVERY_ATTEMPTS, RETRY_POLICY, STACK } from '../../infra/stack.js';
import { planTeardown } from '../../infra/teardown.js';
import { applyPlan, type Outcome, runTeardown } from '../../scripts/lib/deploy/apply-plan.js';
import { API_NAMES } from '../support/google-apis/apis.js';
import { type CloudHarness, startCloudHarness } from '../support/google-apis/cloud-harness.js';
import type { RecordedRequest } from '../support/google-apis/fake-google-apis.js';
import { commandPathsOf } from '../support/google-apis/plan-commands.js';
import { dataResourceKeyOf, declaredBindings, recordingLookups } from '../support/google-apis/plan-expectations.js';
import { featuresOf, representativeStack } from '../support/google-apis/representative-stack.js';
import { gcsServiceAgent } from '../support/google-apis/storage-api.js';

// One deploy round trip through the real executor (gcloud and the client libraries) against the fake:
// deploy into an empty project, deploy again, tear down keeping data, tear down the data too.
const SHA256_OF_A_KEY = '2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b';
const SETTINGS = { project: 'acme-mlops', region: 'europe-west1', bucket: 'acme-mlops-artifacts', serving: { apiKeyHashes: [SHA256_OF_A_KEY] } };
const CONFIG = parseDeployConfig(SETTINGS);
const UNDER_TEST = representativeStack(STACK, CONFIG);
const PLAN = planDeployment(UNDER_TEST, CONFIG);
const RUN = { attempts: 2, retryDelayMs: 200 };
const { project, region } = CONFIG;

/** What teardown leaves on purpose: APIs stay enabled (enabling costs nothing) and Google's service agents stay. */
const KEPT_BY_DESIGN =
  /^serviceusage:|^cloudresourcemanager:projects\/[^ ]+ roles\/iam\.serviceAccountTokenCreator serviceAccount:service-\d+@gcp-sa-pubsub\.iam\.gserviceaccount\.com$/;
/** What builds leave on the way, shared by every build in the project and region: repositories, source buckets and archives. */
const BUILD_ARTIFACT = /^(artifactregistry:|storage:b\/(run-sources-|gcf-v2-(sources|uploads)-))/;
/** What `gcloud run deploy --source` has built: the image (its source archives, a few hundred KB each, stay in gcloud's bucket). */
const SOURCE_DEPLOY_OUTPUT = /^artifactregistry:.*\/repositories\/cloud-run-source-deploy\/packages\//;

let harness: CloudHarness;
let lookups: ReturnType<typeof recordingLookups>;
let before: string[];
let deployRequests: RecordedRequest[] = [];

const ownAccount = (name: string) => serviceAccountEmail(serviceAccountId(name), project);
/** The parts of a CreateFunction body the tests read. */
interface FunctionBody {
  buildConfig: Record<string, unknown>;
  serviceConfig: { serviceAccountEmail?: string };
  eventTrigger?: Record<string, unknown>;
}
/** The parts of a Knative Service (Cloud Run v1) the tests read. */
interface KnativeService {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: {
    template: {
      metadata: { annotations: Record<string, string> };
      spec: { serviceAccountName: string; containerConcurrency: number; containers: { resources: { limits: Record<string, string> }; env: unknown[] }[] };
    };
  };
}
const bodiesOf = <Body>(requests: RecordedRequest[], method: string, path: RegExp) =>
  requests
    .filter((request) => request.method === method && path.test(request.path) && request.status === 200)
    .map((request) => request as RecordedRequest & { body: Body });
const stepsOf = (kind: Step['kind']) => PLAN.filter((step) => step.kind === kind);
/** The inventory without what Google made on its own, what teardown keeps on purpose, and the builds' shared artifacts. */
const platformInventory = (lines: string[]) => {
  const byGoogle = new Set(harness.fake.store.madeByGoogle());
  return lines.filter((line) => !byGoogle.has(line.split(' ')[0]!) && !KEPT_BY_DESIGN.test(line) && !BUILD_ARTIFACT.test(line));
};

beforeAll(async () => {
  const everyStep = [...PLAN, ...planTeardown(PLAN, { deleteData: true })];
  const warmUp = { commands: commandPathsOf(everyStep, CONFIG), apis: [...API_NAMES] };
  harness = await startCloudHarness({ project, functions: UNDER_TEST.functions.map((spec) => spec.name), warmUp });
  lookups = recordingLookups(harness.executor);
  before = harness.fake.store.inventory();
});

afterAll(async () => {
  await harness?.close();
});

describe('a deploy through gcloud and the client libraries, against the fake Google APIs', () => {
  it('exercises every step kind, command and API method of the whole plan', () => {
    const full = featuresOf(planDeployment(STACK, CONFIG), CONFIG);
    const reduced = featuresOf(PLAN, CONFIG);
    expect([...full].filter((feature) => !reduced.has(feature))).toEqual([]);
  });

  it('deploys into an empty project, every step creating or updating what it stands for', async () => {
    const outcomes = await applyPlan(PLAN, lookups.executor, RUN);
    deployRequests = [...harness.fake.requests];
    const expected = (step: Step): Outcome[] => (step.kind === 'lookup' ? ['read'] : ['created', 'updated']);
    expect(PLAN.filter((step) => !expected(step).includes(outcomes.get(step.id)!)).map((step) => `${step.id}: ${outcomes.get(step.id)}`)).toEqual([]);
    expect(harness.fake.escapes).toEqual([]);
    expect(
      harness.fake.requests.filter((request) => request.status === 400 && /no route/.test(JSON.stringify(request))).map((request) => request.path),
    ).toEqual([]);
  });

  it('creates each function on a live runtime, as its own account, built by the build account, retrying its topic', () => {
    for (const step of stepsOf('function')) {
      const spec = UNDER_TEST.functions.find((candidate) => candidate.name === step.name)!;
      const [create] = bodiesOf<FunctionBody>(deployRequests, 'POST', /\/functions$/).filter((request) => request.query.includes(`functionId=${spec.name}`));
      expect(create, `CreateFunction ${spec.name}`).toBeDefined();
      const { buildConfig, serviceConfig, eventTrigger } = create!.body;
      expect(buildConfig).toMatchObject({ runtime: RUNTIME, entryPoint: spec.entryPoint, serviceAccount: serviceAccountResource(BUILD_ACCOUNT_ID, project) });
      expect(serviceConfig.serviceAccountEmail).toBe(ownAccount(spec.name));
      if (spec.trigger.type === 'topic') {
        expect(eventTrigger).toMatchObject({
          pubsubTopic: `projects/${project}/topics/${spec.trigger.topic}`,
          retryPolicy: 'RETRY_POLICY_RETRY',
          serviceAccountEmail: ownAccount(spec.name),
          eventType: 'google.cloud.pubsub.topic.v1.messagePublished',
        });
      } else expect(eventTrigger).toBeUndefined();
    }
  });

  it('deploys the serving service from source on the same runtime, as its account, open to API keys only', () => {
    for (const step of stepsOf('service')) {
      const [service] = bodiesOf<KnativeService>(deployRequests, 'POST', /^\/apis\/serving\.knative\.dev\/v1\/namespaces\/[^/]+\/services$/).filter(
        (request) => request.body.metadata.name === step.name,
      );
      expect(service, `Cloud Run service ${step.name}`).toBeDefined();
      const { metadata, spec } = service!.body;
      const annotations = metadata.annotations ?? {};
      const template = spec.template;
      const container = template.spec.containers[0]!;
      expect(template.spec.serviceAccountName).toBe(ownAccount(step.name));
      expect(annotations['run.googleapis.com/build-service-account']).toBe(serviceAccountResource(BUILD_ACCOUNT_ID, project));
      expect(annotations['run.googleapis.com/build-base-image']).toMatch(new RegExp(`/${RUNTIME}$`));
      expect(String(annotations['run.googleapis.com/invoker-iam-disabled']).toLowerCase()).toBe('true');
      expect(template.spec.containerConcurrency).toBe(CONFIG.serving.concurrency);
      expect(container.resources.limits).toMatchObject({ memory: CONFIG.serving.memory, cpu: String(CONFIG.serving.cpu) });
      expect(template.metadata.annotations['autoscaling.knative.dev/maxScale']).toBe(String(CONFIG.serving.maxInstances));
      expect(container.env).toContainEqual({ name: 'MLOPS_API_KEY_HASHES', value: SHA256_OF_A_KEY });
    }
  });

  it('grants exactly the role bindings the plan declares, and no others', () => {
    const values = new Map([
      ...lookups.values,
      ['PROJECT_NUMBER', harness.fake.context.projectNumber],
      ['GCS_SERVICE_AGENT', gcsServiceAgent(harness.fake.context)],
    ]);
    const granted = harness.fake.store.inventory().filter((line) => line.includes(' roles/') && !before.includes(line));
    expect(granted).toEqual(declaredBindings(PLAN, values));
  });

  it("gives each Eventarc subscription infra/'s dead-letter topic, delivery attempts, retry backoff and ack deadline", () => {
    for (const step of stepsOf('subscription')) {
      const sub = UNDER_TEST.subscriptions.find((candidate) => candidate.name === step.name)!;
      const name = [...lookups.values].find(([variable]) => step.apply.kind === 'command' && step.apply.argv.includes(`\${${variable}}`))![1];
      expect(harness.fake.store.get('pubsub', name)).toMatchObject({
        topic: `projects/${project}/topics/${sub.topic}`,
        deadLetterPolicy: { deadLetterTopic: `projects/${project}/topics/${sub.deadLetterTopic}`, maxDeliveryAttempts: MAX_DELIVERY_ATTEMPTS },
        retryPolicy: { minimumBackoff: `${RETRY_POLICY.minimumBackoffSeconds}s`, maximumBackoff: `${RETRY_POLICY.maximumBackoffSeconds}s` },
        ackDeadlineSeconds: sub.ackDeadlineSeconds,
      });
    }
  });

  it('has the bucket notify the registry topic of every finalized model', () => {
    const { topic, payloadFormat, eventTypes, objectNamePrefix } = UNDER_TEST.bucketNotification;
    const configs = harness.fake.store.list('storage', `b/${CONFIG.bucket}/notificationConfigs/`).map(([, config]) => config);
    expect(configs).toEqual([
      expect.objectContaining({
        topic: `//pubsub.googleapis.com/projects/${project}/topics/${topic}`,
        payload_format: payloadFormat,
        event_types: eventTypes,
        object_name_prefix: objectNamePrefix,
      }),
    ]);
  });

  it('changes nothing when deployed again: every step unchanged, no request changing anything', async () => {
    const mark = harness.fake.requests.length;
    const outcomes = await applyPlan(PLAN, lookups.executor, RUN);
    expect(
      PLAN.filter((step) => step.kind !== 'lookup' && outcomes.get(step.id) !== 'unchanged').map((step) => `${step.id}: ${outcomes.get(step.id)}`),
    ).toEqual([]);
    expect(harness.fake.changingRequests(mark).map((request) => `${request.method} ${request.path}`)).toEqual([]);
    // Reads sent as POST, and create-or-get calls, are the only writing verbs a second deploy may use.
    const reads = /:(getIamPolicy|testIamPermissions|generateServiceIdentity)$/;
    expect(
      harness.fake
        .writingRequests(mark)
        .filter((request) => !reads.test(request.path))
        .map((request) => `${request.method} ${request.path}`),
    ).toEqual([]);
  });

  it('redeploys exactly the functions and services whose code changed, which then check as deployed', async () => {
    const changed = planDeployment(UNDER_TEST, CONFIG, { sourceHashes: Object.fromEntries(UNDER_TEST.functions.map((spec) => [spec.name, 'changed-code'])) });
    const deploys = changed.filter((step) => step.kind === 'function' || step.kind === 'service');
    const outcomes = await applyPlan(changed, lookups.executor, RUN);
    expect(deploys.map((step) => `${step.id}: ${outcomes.get(step.id)}`)).toEqual(deploys.map((step) => `${step.id}: updated`));
    const again = await applyPlan(deploys, lookups.executor, RUN);
    expect(deploys.map((step) => `${step.id}: ${again.get(step.id)}`)).toEqual(deploys.map((step) => `${step.id}: unchanged`));
  });

  it('turns the invoker IAM check back on for every HTTPS function and service when serving.auth becomes iam', async () => {
    const iam = parseDeployConfig({ ...SETTINGS, serving: { auth: 'iam' } });
    const https = new Set(UNDER_TEST.functions.filter((spec) => spec.trigger.type === 'http').map((spec) => spec.name));
    const steps = planDeployment(UNDER_TEST, iam).filter(
      (step) =>
        [...https].some((name) => step.id === `service-setting:${name}:invoker-iam-check`) ||
        (https.has(step.name) && ['function', 'service'].includes(step.kind)),
    );
    await applyPlan(steps, lookups.executor, RUN);
    const invokerCheckOff = (name: string) => {
      const annotations = (harness.fake.store.get('run', `projects/${project}/locations/${region}/services/${name}`) as unknown as KnativeService).metadata
        .annotations;
      return String(annotations?.['run.googleapis.com/invoker-iam-disabled'] ?? 'false').toLowerCase() === 'true';
    };
    expect([...https].filter(invokerCheckOff)).toEqual([]);
  });

  it('tears down everything but the data without --delete-data, per-model serving copies included', async () => {
    const copies = stepsOf('service').map((step) => `${step.name}-iris`);
    for (const copy of copies) harness.fake.addRunService(region, copy, { 'mlops-model': 'iris' });
    await runTeardown(planTeardown(PLAN, { deleteData: false }), lookups.executor, RUN);
    expect(copies.filter((copy) => harness.fake.store.find('run', `projects/${project}/locations/${region}/services/${copy}`))).toEqual([]);
    const data = PLAN.filter((step) => step.holdsData).map(dataResourceKeyOf);
    const left = platformInventory(harness.fake.store.inventory()).filter((line) => !before.includes(line) && !line.includes(' '));
    expect(data.filter((key) => !left.includes(key))).toEqual([]);
    expect(left.filter((line) => !data.some((key) => line === key || line.startsWith(`${key}/`)))).toEqual([]);
  });

  it('leaves the project as it found it once --delete-data removes the data too', async () => {
    const kept = new Set(planTeardown(PLAN, { deleteData: false }).map((step) => step.id));
    const rest = planTeardown(PLAN, { deleteData: true }).filter((step) => step.kind === 'lookup' || !kept.has(step.id));
    await runTeardown(rest, lookups.executor, RUN);
    expect(platformInventory(harness.fake.store.inventory())).toEqual(platformInventory(before));
  });

  it('removes the image of its source deploys', () => {
    expect(harness.fake.store.inventory().filter((line) => SOURCE_DEPLOY_OUTPUT.test(line))).toEqual([]);
  });

  it('removes what Google made for each function along with it: its Cloud Run service, trigger and subscription', () => {
    const runtimeResources = harness.fake.store.madeByGoogle().filter((key) => /^(run|eventarc|pubsub):/.test(key));
    expect(runtimeResources).toEqual([]);
  });
});
