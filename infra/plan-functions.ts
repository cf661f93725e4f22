import { createHash } from 'node:crypto';
import { ENV } from '../shared/config/env.js';
import { bucketOf, type DeployConfig } from './deploy-config.js';
import { BUILD_ACCOUNT_ID, bindingStep, PUBSUB_AGENT, serviceAccountEmail, serviceAccountId, serviceAccountResource, serviceAccountSteps } from './plan-iam.js';
import { apiCall, gcloud, type Step, variable } from './plan-steps.js';
import { RUNTIME } from './runtimes.js';
import { type FunctionSpec, MAX_DELIVERY_ATTEMPTS, RETRY_POLICY, type SubscriptionSpec } from './stack.js';

/** Label on each deployed function with a hash of its deploy command and bundle: equal hash, nothing to redeploy. */
export const DEPLOY_HASH_LABEL = 'mlops_deploy_hash';

/** The Artifact Registry repository `gcloud run deploy --source` pushes its images to. */
export const SOURCE_DEPLOY_REPOSITORY = 'cloud-run-source-deploy';

/** Where `npm run build:functions` writes a function's bundle, relative to the project root. */
export function bundleDirOf(name: string): string {
  return `dist/functions/${name}`;
}

/** What the function planner needs besides the function itself. */
export interface FunctionPlanContext {
  config: DeployConfig;
  subscription?: SubscriptionSpec;
  /** Content hash of the function's bundle, so changed code redeploys; absent in plans made without building. */
  sourceHash?: string;
}

/** The environment every function gets: the gcp profile and where its resources are. */
export function functionEnv(config: DeployConfig, spec: FunctionSpec): Record<string, string> {
  // Express under the Functions Framework puts stack traces in its error pages unless production.
  const env: Record<string, string> = { NODE_ENV: 'production', ...gcpEnvironment(config) };
  if (spec.trigger.type === 'http' && config.serving.auth === 'api-keys') env[ENV.apiKeyHashes] = config.serving.apiKeyHashes.join(',');
  return env;
}

/** Where a deployment's resources are, as the gcp profile's variables: what every function runs with, and what the smoke test uses. */
export function gcpEnvironment(config: DeployConfig): Record<string, string> {
  return {
    [ENV.profile]: 'gcp',
    [ENV.projectId]: config.project,
    [ENV.region]: config.region,
    [ENV.bucket]: bucketOf(config),
    [ENV.dataset]: config.bigquery.dataset,
    [ENV.bigqueryLocation]: config.bigquery.location,
  };
}

/** `--set-env-vars`, switching gcloud's list delimiter to `;` when a value holds a comma (see `gcloud topic escaping`). */
export function envVarsFlag(env: Record<string, string>): string {
  const pairs = Object.entries(env).map(([name, value]) => `${name}=${value}`);
  const needsEscape = Object.values(env).some((value) => value.includes(','));
  return needsEscape ? `--set-env-vars=^;^${pairs.join(';')}` : `--set-env-vars=${pairs.join(',')}`;
}

function sizing(spec: FunctionSpec, config: DeployConfig): string[] {
  const serving = spec.perModel ? config.serving : undefined;
  const flags = [
    `--memory=${serving?.memory ?? spec.memory}`,
    `--timeout=${spec.timeoutSeconds}s`,
    `--max-instances=${serving?.maxInstances ?? spec.maxInstances}`,
  ];
  if (serving) flags.push(`--min-instances=${serving.minInstances}`, `--cpu=${serving.cpu}`, `--concurrency=${serving.concurrency}`);
  return flags;
}

/**
 * HTTPS functions never get an allUsers binding (a domain-restricted-sharing policy refuses it after
 * the function exists): with API keys, the invoker IAM check is turned off instead (invokerCheckStep).
 */
function triggerFlags(spec: FunctionSpec, email: string): string[] {
  if (spec.trigger.type === 'topic') return [`--trigger-topic=${spec.trigger.topic}`, `--trigger-service-account=${email}`, '--retry'];
  return ['--trigger-http', '--no-allow-unauthenticated'];
}

/** A deploy hash over the command and the bundle: equal hash, nothing to redeploy. */
function deployHash(argv: string[], sourceHash: string | undefined): string {
  return createHash('sha256').update(JSON.stringify({ argv, sourceHash })).digest('hex').slice(0, 16);
}

/** `--build-service-account`: builds run as the platform's own build account, never a project default that new projects lack. */
function buildAccountFlag(project: string): string {
  return `--build-service-account=${serviceAccountResource(BUILD_ACCOUNT_ID, project)}`;
}

function deployStep(spec: FunctionSpec, context: FunctionPlanContext): Step {
  return spec.server ? serviceDeployStep(spec, context) : functionDeployStep(spec, context);
}

function functionDeployStep(spec: FunctionSpec, { config, sourceHash }: FunctionPlanContext): Step {
  const { project, region } = config;
  const email = serviceAccountEmail(serviceAccountId(spec.name), project);
  const where = [`--project=${project}`, `--region=${region}`];
  const argv = [
    ...['functions', 'deploy', spec.name, '--gen2', ...where, `--runtime=${RUNTIME}`, `--entry-point=${spec.entryPoint}`, `--source=${bundleDirOf(spec.name)}`],
    ...sizing(spec, config),
    `--service-account=${email}`,
    buildAccountFlag(project),
    envVarsFlag(functionEnv(config, spec)),
    ...triggerFlags(spec, email),
  ];
  const hash = deployHash(argv, sourceHash);
  return {
    id: `function:${spec.name}`,
    kind: 'function',
    name: spec.name,
    component: spec.component,
    summary: `Deploy function ${spec.name} (${spec.trigger.type === 'topic' ? `topic ${spec.trigger.topic}` : 'HTTPS'}) on ${RUNTIME}`,
    check: {
      call: gcloud('functions', 'describe', spec.name, '--gen2', ...where, '--format=json'),
      expect: { state: 'ACTIVE', labels: { [DEPLOY_HASH_LABEL]: hash } },
    },
    apply: gcloud(...argv, `--update-labels=mlops-component=${spec.component},${DEPLOY_HASH_LABEL}=${hash}`, '--quiet'),
    destroy: [gcloud('functions', 'delete', spec.name, '--gen2', ...where, '--quiet')],
  };
}

/**
 * A function with a direct server entry, deployed as a Cloud Run service built from its bundle by
 * Google's buildpacks on the same runtime: the buildpack runs the bundle's `npm start` (`node
 * server.js`), so the entry the benchmarks measure is the entry that ships.
 */
function serviceDeployStep(spec: FunctionSpec, { config, sourceHash }: FunctionPlanContext): Step {
  const { project, region } = config;
  const where = [`--region=${region}`, `--project=${project}`];
  const apiKeys = config.serving.auth === 'api-keys';
  const argv = [
    ...['run', 'deploy', spec.name, ...where, `--source=${bundleDirOf(spec.name)}`, `--base-image=${RUNTIME}`, buildAccountFlag(project)],
    ...sizing(spec, config),
    `--service-account=${serviceAccountEmail(serviceAccountId(spec.name), project)}`,
    envVarsFlag(functionEnv(config, spec)),
    '--no-allow-unauthenticated',
    apiKeys ? '--no-invoker-iam-check' : '--invoker-iam-check',
  ];
  const hash = deployHash(argv, sourceHash);
  // gcloud writes the annotation as Python's str(bool), and the API returns it as written.
  const invoker = { annotations: { [INVOKER_IAM_DISABLED]: apiKeys ? 'True' : 'False' } };
  const base = spec.perModel ? '; serving-rollout copies it per model as serve-<model>, pinned to one version' : '';
  // Per-model copies are created at promotion time, outside this plan; teardown removes them with the base.
  const deleteCopies = apiCall('run', 'services.deleteLabelled', `projects/${project}/locations/${region}`, { label: 'mlops-model' });
  // The image every source deploy pushes (hundreds of MB with onnxruntime); its small source archives stay in gcloud's bucket.
  const deleteImage = gcloud(
    'artifacts',
    'packages',
    'delete',
    spec.name,
    `--repository=${SOURCE_DEPLOY_REPOSITORY}`,
    `--location=${region}`,
    `--project=${project}`,
    '--quiet',
  );
  const deleteService = gcloud('run', 'services', 'delete', spec.name, ...where, '--quiet');
  return {
    id: `service:${spec.name}`,
    kind: 'service',
    name: spec.name,
    component: spec.component,
    summary: `Deploy Cloud Run service ${spec.name} (HTTPS, ${spec.server} on ${RUNTIME}) as the base service${base}`,
    check: {
      call: gcloud('run', 'services', 'describe', spec.name, ...where, '--format=json'),
      expect: { metadata: { labels: { [DEPLOY_HASH_LABEL]: hash }, ...invoker }, status: { conditions: [{ type: 'Ready', status: 'True' }] } },
    },
    apply: gcloud(...argv, `--update-labels=mlops-component=${spec.component},${DEPLOY_HASH_LABEL}=${hash}`, '--quiet'),
    destroy: [...(spec.perModel ? [deleteCopies] : []), deleteService, deleteImage],
  };
}

/** The shell-safe variable prefix of a function: `register-model` → `REGISTER_MODEL`. */
function variablePrefix(name: string): string {
  return name.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}

/**
 * Gen2 topic triggers are Eventarc triggers whose Pub/Sub subscription Eventarc creates and names.
 * After the deploy, look that subscription up and give it the dead-letter topic, retry policy and
 * ack deadline infra/ declares, with the IAM the Pub/Sub service agent needs to dead-letter.
 */
function subscriptionSteps(spec: FunctionSpec, subscription: SubscriptionSpec, config: DeployConfig): Step[] {
  const { project, region } = config;
  const prefix = variablePrefix(spec.name);
  const email = serviceAccountEmail(serviceAccountId(spec.name), project);
  const name = variable(`${prefix}_SUBSCRIPTION`);
  const deadLetterTopic = `projects/${project}/topics/${subscription.deadLetterTopic}`;
  const lookup = (output: string, summary: string, ...argv: string[]): Step => ({
    id: `lookup:${output}`,
    kind: 'lookup',
    name: output,
    component: spec.component,
    summary,
    apply: gcloud(...argv),
    output,
  });
  const policy = {
    ackDeadlineSeconds: subscription.ackDeadlineSeconds,
    deadLetterPolicy: { deadLetterTopic, maxDeliveryAttempts: MAX_DELIVERY_ATTEMPTS },
    retryPolicy: { minimumBackoff: `${RETRY_POLICY.minimumBackoffSeconds}s`, maximumBackoff: `${RETRY_POLICY.maximumBackoffSeconds}s` },
  };
  return [
    bindingStep({
      scope: { type: 'function', project, region, name: spec.name },
      member: `serviceAccount:${email}`,
      role: 'roles/run.invoker',
      component: spec.component,
    }),
    lookup(
      `${prefix}_TRIGGER`,
      `Read the Eventarc trigger of ${spec.name}`,
      'functions',
      'describe',
      spec.name,
      '--gen2',
      `--project=${project}`,
      `--region=${region}`,
      '--format=value(eventTrigger.trigger)',
    ),
    lookup(
      `${prefix}_SUBSCRIPTION`,
      `Read the Pub/Sub subscription Eventarc made for ${spec.name}`,
      'eventarc',
      'triggers',
      'describe',
      variable(`${prefix}_TRIGGER`),
      `--location=${region}`,
      `--project=${project}`,
      '--format=value(transport.pubsub.subscription)',
    ),
    {
      id: `subscription:${subscription.name}`,
      kind: 'subscription',
      name: subscription.name,
      component: spec.component,
      summary: `Subscription ${subscription.name} (Eventarc's, feeding ${spec.name}): dead-letter to ${subscription.deadLetterTopic} after ${MAX_DELIVERY_ATTEMPTS} attempts, retry ${RETRY_POLICY.minimumBackoffSeconds}-${RETRY_POLICY.maximumBackoffSeconds}s`,
      check: { call: gcloud('pubsub', 'subscriptions', 'describe', name, '--format=json'), expect: policy },
      apply: gcloud(
        ...['pubsub', 'subscriptions', 'update', name, `--dead-letter-topic=${deadLetterTopic}`, `--max-delivery-attempts=${MAX_DELIVERY_ATTEMPTS}`],
        ...[
          `--min-retry-delay=${policy.retryPolicy.minimumBackoff}`,
          `--max-retry-delay=${policy.retryPolicy.maximumBackoff}`,
          `--ack-deadline=${subscription.ackDeadlineSeconds}`,
        ],
      ),
    },
    bindingStep({ scope: { type: 'subscription', subscription: name }, member: PUBSUB_AGENT, role: 'roles/pubsub.subscriber', component: spec.component }),
  ];
}

/** The annotation with which Cloud Run skips its invoker IAM check. */
const INVOKER_IAM_DISABLED = 'run.googleapis.com/invoker-iam-disabled';

/**
 * An HTTPS function's invoker IAM check, set on its Cloud Run service: off with API keys (the key is
 * checked instead), on with IAM. Both ways, so switching serving.auth to iam closes what keys had opened.
 */
function invokerCheckStep(spec: FunctionSpec, config: DeployConfig): Step {
  const where = [`--region=${config.region}`, `--project=${config.project}`];
  const keys = config.serving.auth === 'api-keys';
  return {
    id: `service-setting:${spec.name}:invoker-iam-check`,
    kind: 'service-setting',
    name: `${spec.name} invoker IAM check ${keys ? 'off' : 'on'}`,
    component: spec.component,
    summary: keys ? `Let ${spec.name} take requests without IAM (the API key is checked instead)` : `Require roles/run.invoker of every caller of ${spec.name}`,
    check: {
      call: gcloud('run', 'services', 'describe', spec.name, ...where, '--format=json'),
      // gcloud writes the annotation as Python's str(bool), and the API returns it as written.
      expect: { metadata: { annotations: { [INVOKER_IAM_DISABLED]: keys ? 'True' : 'False' } } },
    },
    apply: gcloud('run', 'services', 'update', spec.name, ...where, keys ? '--no-invoker-iam-check' : '--invoker-iam-check'),
  };
}

/** Every step of one function: its service account and roles, the deploy, then what its trigger needs. */
export function functionSteps(spec: FunctionSpec, context: FunctionPlanContext): Step[] {
  const { config, subscription } = context;
  const account = serviceAccountSteps({
    id: serviceAccountId(spec.name),
    displayName: `mlops ${spec.name}`,
    project: config.project,
    bucket: bucketOf(config),
    roles: spec.roles,
    component: spec.component,
  });
  const actAs = (spec.actAs ?? []).map((target) =>
    bindingStep({
      scope: { type: 'service-account', project: config.project, email: serviceAccountEmail(serviceAccountId(target), config.project) },
      member: `serviceAccount:${serviceAccountEmail(serviceAccountId(spec.name), config.project)}`,
      role: 'roles/iam.serviceAccountUser',
      component: spec.component,
    }),
  );
  const after: Step[] = [];
  if (spec.trigger.type === 'topic') {
    if (!subscription) throw new Error(`Function ${spec.name} is triggered by topic ${spec.trigger.topic} but infra/ has no subscription for it.`);
    after.push(...subscriptionSteps(spec, subscription, config));
  }
  if (spec.trigger.type === 'http' && !spec.server) after.push(invokerCheckStep(spec, config));
  return [...account, ...actAs, deployStep(spec, context), ...after];
}
