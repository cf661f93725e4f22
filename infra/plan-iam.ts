import { createHash } from 'node:crypto';
import { type Call, gcloud, type Step, variable } from './plan-steps.js';
import type { Component } from './stack.js';

/** Where a role is granted: the project, the bucket, a topic, a subscription, or a function's service. */
export type BindingScope =
  | { type: 'project'; project: string }
  | { type: 'bucket'; bucket: string }
  | { type: 'topic'; project: string; topic: string }
  | { type: 'subscription'; subscription: string }
  | { type: 'function'; project: string; region: string; name: string }
  | { type: 'service-account'; project: string; email: string };

/** The Pub/Sub service agent, which pushes to Eventarc triggers and forwards to dead-letter topics. */
export const PUBSUB_AGENT = `serviceAccount:service-${variable('PROJECT_NUMBER')}@gcp-sa-pubsub.iam.gserviceaccount.com`;

/** The id of a function's own service account: `mlops-<function>`, shortened with a hash past 30 characters. */
export function serviceAccountId(name: string): string {
  const id = `mlops-${name}`;
  if (id.length <= 30) return id;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 6);
  return `${id.slice(0, 23).replace(/-+$/, '')}-${hash}`;
}

/** The account every build (functions and the serving service) runs as: new projects have no default build account with these rights. */
export const BUILD_ACCOUNT_ID = 'mlops-build';

/** What a build needs and nothing more: write its logs, push the image, read the uploaded source. */
export const BUILD_ROLES = ['roles/logging.logWriter', 'roles/artifactregistry.writer', 'roles/storage.objectViewer'];

/** A service account's full resource name, as `--build-service-account` takes it. */
export function serviceAccountResource(id: string, project: string): string {
  return `projects/${project}/serviceAccounts/${serviceAccountEmail(id, project)}`;
}

/** A service account's email in a project. */
export function serviceAccountEmail(id: string, project: string): string {
  return `${id}@${project}.iam.gserviceaccount.com`;
}

function scopeCommand(scope: BindingScope, verb: 'add-iam-policy-binding' | 'remove-iam-policy-binding' | 'get-iam-policy'): string[] {
  switch (scope.type) {
    case 'project':
      return ['projects', verb, scope.project];
    case 'bucket':
      return ['storage', 'buckets', verb, `gs://${scope.bucket}`];
    case 'topic':
      return ['pubsub', 'topics', verb, scope.topic, `--project=${scope.project}`];
    case 'subscription':
      return ['pubsub', 'subscriptions', verb, scope.subscription];
    case 'function':
      // A gen2 function's IAM lives on its Cloud Run service.
      return verb === 'add-iam-policy-binding'
        ? ['functions', 'add-invoker-policy-binding', scope.name, `--region=${scope.region}`, `--project=${scope.project}`]
        : ['run', 'services', verb, scope.name, `--region=${scope.region}`, `--project=${scope.project}`];
    case 'service-account':
      return ['iam', 'service-accounts', verb, scope.email, `--project=${scope.project}`];
  }
}

function scopeName(scope: BindingScope): string {
  switch (scope.type) {
    case 'project':
      return `project ${scope.project}`;
    case 'bucket':
      return `bucket ${scope.bucket}`;
    case 'topic':
      return `topic ${scope.topic}`;
    case 'subscription':
      return `subscription ${scope.subscription}`;
    case 'function':
      return `function ${scope.name}`;
    case 'service-account':
      return `service account ${scope.email}`;
  }
}

/** Options of one role binding. */
export interface BindingOptions {
  scope: BindingScope;
  member: string;
  role: string;
  component: Component | 'core';
  /** Remove the binding on teardown (resources deleted anyway keep theirs). */
  removeOnTeardown?: boolean;
}

/** A step granting `role` to `member` on `scope`, checked against the current IAM policy. */
export function bindingStep({ scope, member, role, component, removeOnTeardown = false }: BindingOptions): Step {
  const withMember = scope.type === 'function' ? [`--member=${member}`] : [`--member=${member}`, `--role=${role}`];
  const condition = scope.type === 'project' ? ['--condition=None'] : [];
  const destroy: Call[] = [gcloud(...scopeCommand(scope, 'remove-iam-policy-binding'), `--member=${member}`, `--role=${role}`, ...condition)];
  return {
    id: `iam-binding:${scopeName(scope)}:${role}:${member}`,
    kind: 'iam-binding',
    name: `${role} for ${member} on ${scopeName(scope)}`,
    component,
    summary: `Grant ${role} to ${member} on ${scopeName(scope)}`,
    check: { call: gcloud(...scopeCommand(scope, 'get-iam-policy'), '--format=json'), expect: { bindings: [{ role, members: [member] }] } },
    apply: gcloud(...scopeCommand(scope, 'add-iam-policy-binding'), ...withMember, ...condition),
    ...(removeOnTeardown && { destroy }),
  };
}

/**
 * Steps creating a service account and granting it roles: project-wide, except storage roles, which
 * stay on `bucket` when one is given (a build reads sources from buckets Google creates, so it has none).
 */
export function serviceAccountSteps(options: {
  id: string;
  displayName: string;
  project: string;
  bucket?: string;
  roles: string[];
  component: Component | 'core';
}): Step[] {
  const { id, displayName, project, bucket, roles, component } = options;
  const email = serviceAccountEmail(id, project);
  const member = `serviceAccount:${email}`;
  const account: Step = {
    id: `service-account:${id}`,
    kind: 'service-account',
    name: id,
    component,
    summary: `Service account ${email}: ${roles.join(', ') || 'no roles'}`,
    check: { call: gcloud('iam', 'service-accounts', 'describe', email, `--project=${project}`, '--format=json') },
    apply: gcloud('iam', 'service-accounts', 'create', id, `--project=${project}`, `--display-name=${displayName}`),
    destroy: [gcloud('iam', 'service-accounts', 'delete', email, `--project=${project}`, '--quiet')],
  };
  const grants = roles.map((role) =>
    bindingStep({
      scope: bucket && role.startsWith('roles/storage.') ? { type: 'bucket', bucket } : { type: 'project', project },
      member,
      role,
      component,
      removeOnTeardown: true,
    }),
  );
  return [account, ...grants];
}
