import { bucketOf, type DeployConfig } from './deploy-config.js';
import { functionSteps } from './plan-functions.js';
import { BUILD_ACCOUNT_ID, BUILD_ROLES, bindingStep, PUBSUB_AGENT, serviceAccountSteps } from './plan-iam.js';
import { RUNTIME, runtimeProblem } from './runtimes.js';
import { declaredJobSpec, scheduleOf, schedulerSteps } from './plan-scheduler.js';
import { durationSeconds, gcloud, type Stack, type Step } from './plan-steps.js';
import { bucketSteps, firestoreStep, warehouseSteps } from './plan-storage.js';

/** Options of planDeployment. */
export interface PlanOptions {
  /** Content hash of each function's bundle, so a code change redeploys that function. */
  sourceHashes?: Record<string, string>;
}

/** Every API the platform uses. All are enabled whatever is switched off: enabling costs nothing. */
export const REQUIRED_APIS = [
  'artifactregistry.googleapis.com',
  'bigquery.googleapis.com',
  'cloudbuild.googleapis.com',
  'cloudfunctions.googleapis.com',
  'cloudresourcemanager.googleapis.com',
  'cloudscheduler.googleapis.com',
  'eventarc.googleapis.com',
  'firestore.googleapis.com',
  'iam.googleapis.com',
  'logging.googleapis.com',
  'pubsub.googleapis.com',
  'run.googleapis.com',
  'storage.googleapis.com',
];

/** Roles the Grafana reader needs for the BigQuery data source: read tables, run query jobs. */
export const GRAFANA_ROLES = ['roles/bigquery.dataViewer', 'roles/bigquery.jobUser'];

/**
 * The ordered steps that deploy `stack` as `config` says. Pure: it reads infra/ and the config and
 * returns commands and API calls as data, so a dry run prints exactly what a deploy runs.
 */
export function planDeployment(stack: Stack, config: DeployConfig, { sourceHashes = {} }: PlanOptions = {}): Step[] {
  const functions = actAsTargetsFirst(stack.functions.filter((spec) => config.components[spec.component]));
  const subscriptions = stack.subscriptions.filter((sub) => functions.some((spec) => spec.name === sub.function));
  const componentOfFunction = (name: string) => stack.functions.find((spec) => spec.name === name)?.component ?? 'core';
  for (const name of Object.keys(config.schedules)) {
    if (!stack.schedulerJobs.some((job) => job.name === name)) throw new Error(`schedules names an unknown scheduler job "${name}".`);
  }
  return [
    apisStep(config),
    projectNumberStep(config),
    pubsubIdentityStep(config),
    ...topicSteps(stack, config),
    ...deadLetterSteps(stack, subscriptions, config, componentOfFunction),
    // Kept on teardown: any push subscription of the project may rely on this grant, not only ours.
    bindingStep({ scope: { type: 'project', project: config.project }, member: PUBSUB_AGENT, role: 'roles/iam.serviceAccountTokenCreator', component: 'core' }),
    ...bucketSteps(stack, config, functions),
    firestoreStep(config),
    ...warehouseSteps(stack, config),
    ...(functions.length > 0 ? buildAccountSteps(config) : []),
    ...functions.flatMap((spec) =>
      functionSteps(spec, { config, subscription: subscriptions.find((sub) => sub.function === spec.name), sourceHash: sourceHashes[spec.name] }),
    ),
    ...(config.components.monitoring ? grafanaSteps(config) : []),
    ...stack.schedulerJobs.filter((job) => config.components[job.component]).flatMap((job) => schedulerSteps(job, config, scheduleOf(job, config))),
    ...(config.components.registry ? config.jobs.map(declaredJobSpec) : []).flatMap((job) => schedulerSteps(job, config, job.schedule)),
  ];
}

/** Functions whose service accounts others act as come first, so those accounts exist when the grants on them are made. */
function actAsTargetsFirst(functions: Stack['functions']): Stack['functions'] {
  const targets = new Set(functions.flatMap((spec) => spec.actAs ?? []));
  return [...functions.filter((spec) => targets.has(spec.name)), ...functions.filter((spec) => !targets.has(spec.name))];
}

function apisStep({ project }: DeployConfig): Step {
  return {
    id: 'apis:platform',
    kind: 'apis',
    name: 'platform',
    component: 'core',
    summary: `Enable the ${REQUIRED_APIS.length} APIs the platform uses`,
    check: {
      call: gcloud('services', 'list', '--enabled', `--project=${project}`, '--format=json'),
      expect: REQUIRED_APIS.map((name) => ({ config: { name } })),
    },
    apply: gcloud('services', 'enable', ...REQUIRED_APIS, `--project=${project}`),
  };
}

function projectNumberStep({ project }: DeployConfig): Step {
  return {
    id: 'lookup:PROJECT_NUMBER',
    kind: 'lookup',
    name: 'PROJECT_NUMBER',
    component: 'core',
    summary: 'Read the project number, which names the Google service agents',
    apply: gcloud('projects', 'describe', project, '--format=value(projectNumber)'),
    output: 'PROJECT_NUMBER',
  };
}

/**
 * On a new project the Pub/Sub service agent exists only once something asks for it; the grants
 * below name it, so create it first. Safe to repeat: an existing identity is returned as it is.
 */
function pubsubIdentityStep({ project }: DeployConfig): Step {
  return {
    id: 'lookup:pubsub-service-identity',
    kind: 'lookup',
    name: 'pubsub-service-identity',
    component: 'core',
    summary: 'Create (or read) the Pub/Sub service agent, which the grants below name',
    apply: gcloud('beta', 'services', 'identity', 'create', '--service=pubsub.googleapis.com', `--project=${project}`, '--format=value(email)'),
  };
}

/** The account every build runs as (see BUILD_ACCOUNT_ID); new projects have no default one that works. */
function buildAccountSteps(config: DeployConfig): Step[] {
  return serviceAccountSteps({ id: BUILD_ACCOUNT_ID, displayName: 'mlops builds', project: config.project, roles: BUILD_ROLES, component: 'core' });
}

function topicStep(name: string, { project }: DeployConfig, component: Step['component']): Step {
  return {
    id: `topic:${name}`,
    kind: 'topic',
    name,
    component,
    summary: `Topic ${name}`,
    check: { call: gcloud('pubsub', 'topics', 'describe', name, `--project=${project}`, '--format=json') },
    apply: gcloud('pubsub', 'topics', 'create', name, `--project=${project}`),
    destroy: [gcloud('pubsub', 'topics', 'delete', name, `--project=${project}`, '--quiet')],
  };
}

/** The platform's own topics: every topic in infra/ that is not a dead-letter topic. Always created; idle topics cost nothing. */
function topicSteps(stack: Stack, config: DeployConfig): Step[] {
  const deadLetters = new Set(stack.subscriptions.map((sub) => sub.deadLetterTopic));
  return stack.topics.filter((name) => !deadLetters.has(name)).map((name) => topicStep(name, config, 'core'));
}

/**
 * Dead-letter topics of the enabled subscriptions. Topic retention keeps their messages even with no
 * subscriber (Pub/Sub drops messages a topic has no subscription for), so a dead letter can be read
 * later by creating a subscription and seeking back. The Pub/Sub service agent must publish to them.
 */
function deadLetterSteps(stack: Stack, subscriptions: Stack['subscriptions'], config: DeployConfig, componentOf: (name: string) => Step['component']): Step[] {
  const retention = config.deadLetterRetention;
  // In infra's order, whichever subscriptions are enabled; a topic several components dead-letter to is core.
  return [...new Set(stack.subscriptions.map((sub) => sub.deadLetterTopic))]
    .filter((name) => stack.topics.includes(name) && subscriptions.some((sub) => sub.deadLetterTopic === name))
    .flatMap((name) => {
      const components = new Set(stack.subscriptions.filter((sub) => sub.deadLetterTopic === name).map((sub) => componentOf(sub.function)));
      const component = components.size === 1 ? [...components][0]! : 'core';
      const topic = topicStep(name, config, component);
      const where = `--project=${config.project}`;
      const retained: Step = {
        ...topic,
        kind: 'dead-letter-topic',
        summary: `Dead-letter topic ${name}, keeping messages ${retention}`,
        check: { call: topic.check!.call, expect: { messageRetentionDuration: `${durationSeconds(retention)}s` } },
        apply: gcloud('pubsub', 'topics', 'create', name, where, `--message-retention-duration=${retention}`),
        update: gcloud('pubsub', 'topics', 'update', name, where, `--message-retention-duration=${retention}`),
      };
      const publisher = bindingStep({
        scope: { type: 'topic', project: config.project, topic: name },
        member: PUBSUB_AGENT,
        role: 'roles/pubsub.publisher',
        component,
      });
      return [retained, publisher];
    });
}

/** A read-only identity for the Grafana BigQuery data source (see infra/grafana/). */
function grafanaSteps(config: DeployConfig): Step[] {
  return serviceAccountSteps({
    id: 'mlops-grafana',
    displayName: 'mlops Grafana reader',
    project: config.project,
    bucket: bucketOf(config),
    roles: GRAFANA_ROLES,
    component: 'monitoring',
  });
}

/** Options of deploymentProblems. */
export interface ProblemOptions {
  /** The day to judge the runtime on; injected so tests can move the clock. */
  today?: Date;
  /** The caller accepts HTTPS functions that anyone may call (`--allow-public`). */
  allowPublic?: boolean;
}

/**
 * Settings that would deploy something unsafe or doomed: HTTPS functions open to anyone, or a runtime
 * Google has decommissioned or is about to deprecate.
 * The dry run prints them as warnings; a real deploy refuses to start.
 */
export function deploymentProblems(stack: Stack, config: DeployConfig, { today = new Date(), allowPublic = false }: ProblemOptions = {}): string[] {
  const problems: string[] = [];
  const runtime = runtimeProblem(RUNTIME, today);
  if (runtime) problems.push(`${runtime} Update RUNTIME in infra/runtimes.ts.`);
  const open = stack.functions.filter((spec) => config.components[spec.component] && spec.trigger.type === 'http').map((spec) => spec.name);
  if (open.length > 0 && config.serving.auth === 'api-keys' && config.serving.apiKeyHashes.length === 0 && !allowPublic) {
    problems.push(
      `serving.auth is "api-keys" but serving.apiKeyHashes is empty: ${open.join(', ')} would answer anyone. ` +
        'Run `npm run deploy -- --new-api-key` (or add a sha256 hex digest of a key), set serving.auth to "iam", or pass --allow-public if that is what you want.',
    );
  }
  return problems;
}
