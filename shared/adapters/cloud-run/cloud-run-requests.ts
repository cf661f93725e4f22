import { createHash } from 'node:crypto';
import { ENV } from '../../config/env.js';

/** Labels on each model's service and revisions, so billing and the console can filter by model. */
export const MODEL_LABEL = 'mlops-model';
export const VERSION_LABEL = 'mlops-version';

/** Cloud Run limits: service ids are at most 49 characters, revision names at most 63 (DNS labels). */
export const MAX_SERVICE_ID = 49;
export const MAX_REVISION_NAME = 63;
const SERVICE_ID = /^[a-z](?:[a-z0-9-]{0,47}[a-z0-9])?$/;

/** An env var of a v2 Container; `valueSource` holds Secret Manager references. */
export interface EnvVar {
  name: string;
  value?: string;
  valueSource?: unknown;
}

/** A v2 Container; fields this adapter does not touch pass through unchanged. */
export interface Container {
  name?: string;
  image?: string;
  env?: EnvVar[];
  ports?: unknown[];
  [field: string]: unknown;
}

/** A v2 RevisionTemplate (image, resources, service account, scaling...). */
export interface RevisionTemplate {
  revision?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  containers?: Container[];
  [field: string]: unknown;
}

/** A v2 TrafficTarget: a share of requests for a revision (or the latest ready one), and an optional tag with its own URL. */
export interface TrafficTarget {
  type?: string;
  revision?: string;
  percent?: number;
  tag?: string;
}

/** A v2 Service resource as the Admin API returns it. */
export interface CloudRunService {
  name?: string;
  uri?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  template?: RevisionTemplate;
  traffic?: TrafficTarget[];
  latestReadyRevision?: string;
  latestCreatedRevision?: string;
  terminalCondition?: { type?: string; state?: string; message?: string };
  reconciling?: boolean;
  updateTime?: string;
  etag?: string;
  [field: string]: unknown;
}

/** A v2 Revision; only what is needed to tell which version it serves. */
export interface CloudRunRevision {
  name?: string;
  labels?: Record<string, string>;
  containers?: Container[];
  createTime?: string;
}

/** A google.longrunning.Operation, as PATCH and POST on services return it. */
export interface Operation {
  name: string;
  done?: boolean;
  error?: { code?: number; message?: string };
  response?: unknown;
}

/** What a revision is pinned to, and the unique name the new revision gets. */
export interface ServicePin {
  model: string;
  version: number;
  revision: string;
}

/** Output-only fields (and the identity of the copied service), dropped from a request body. */
const NOT_WRITTEN = [
  'name',
  'uid',
  'generation',
  'createTime',
  'updateTime',
  'deleteTime',
  'expireTime',
  'creator',
  'lastModifier',
  'observedGeneration',
  'terminalCondition',
  'conditions',
  'latestReadyRevision',
  'latestCreatedRevision',
  'trafficStatuses',
  'uri',
  'urls',
  'satisfiesPzs',
  'reconciling',
  'etag',
  'buildConfig',
];

/** Full resource name of a service: `projects/{p}/locations/{r}/services/{s}`. */
export function serviceName(projectId: string, region: string, service: string): string {
  return `${servicesParent(projectId, region)}/services/${service}`;
}

/** Where services of a region are created. */
export function servicesParent(projectId: string, region: string): string {
  return `projects/${projectId}/locations/${region}`;
}

/** The last segment of a resource name: `.../revisions/serve-churn-v2-ab12` → `serve-churn-v2-ab12`. */
export function resourceId(name: string): string {
  return name.slice(name.lastIndexOf('/') + 1);
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/**
 * The id of the service serving `model`: `serve-<model>` when that is a valid service id, else a
 * shortened form with a hash, since model names may be longer than Cloud Run's 49 characters.
 */
export function serviceIdFor(model: string, prefix = 'serve-'): string {
  const wanted = `${prefix}${model}`;
  if (SERVICE_ID.test(wanted)) return wanted;
  const kept = wanted
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, MAX_SERVICE_ID - 9)
    .replace(/-+$/, '');
  return `${kept}-${shortHash(wanted)}`;
}

/**
 * A revision name unique per deploy: `<service>-v<version>-<hash of nonce>`. The nonce differs on
 * every deploy, so re-deploying a version after a rollback still gets a fresh name. Cloud Run
 * prefixes revisions with the service id; when the version does not fit in 63 characters it is
 * left out of the name (the revision's labels still carry it).
 */
export function revisionName(serviceId: string, version: number, nonce: string): string {
  const hash = shortHash(`${serviceId}:${version}:${nonce}`);
  const name = `${serviceId}-v${version}-${hash}`;
  return name.length <= MAX_REVISION_NAME ? name : `${serviceId}-${hash}`;
}

/** True for label and annotation keys Google manages, which Cloud Run rejects or which would mislabel the copy. */
function isReserved(key: string): boolean {
  const namespace = key.includes('/') ? key.slice(0, key.indexOf('/')) : '';
  return key.startsWith('goog-') || namespace.endsWith('googleapis.com') || namespace.endsWith('knative.dev');
}

function ownKeys(map: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(map ?? {}).filter(([key]) => !isReserved(key)));
}

/** Sets env vars, replacing earlier values of the same names and keeping every other variable. */
export function withEnv(env: EnvVar[] | undefined, values: Record<string, string>): EnvVar[] {
  const kept = (env ?? []).filter((variable) => !(variable.name in values));
  return [...kept, ...Object.entries(values).map(([name, value]) => ({ name, value }))];
}

/** The container that receives requests: the one declaring ports (sidecars declare none), else the only one. */
export function servingContainerIndex(containers: Container[]): number {
  const withPorts = containers.findIndex((container) => container.ports?.length);
  return withPorts === -1 ? 0 : withPorts;
}

/** The env vars that make a revision a shadow, a mirroring primary or a splitting primary: revisions differing in them are different revisions. */
export const ROUTING_ENV: readonly string[] = [ENV.serveRole, ENV.shadowUrl, ENV.shadowPercent, ENV.splitUrl, ENV.splitPercent, ENV.stickyKey];

/** The containers with the serving one pinned to a version and running exactly `routing` of the ROUTING_ENV variables. */
function pinnedContainers(containers: Container[] | undefined, model: string, version: number, routing: Record<string, string> = {}): Container[] {
  if (!containers?.length) throw new Error('The serving service template has no container to pin.');
  const serving = servingContainerIndex(containers);
  const pins = { [ENV.serveModel]: model, [ENV.serveVersion]: String(version), ...routing };
  const pinned = (env: EnvVar[] | undefined) =>
    withEnv(
      env?.filter((variable) => !ROUTING_ENV.includes(variable.name)),
      pins,
    );
  return containers.map((container, index) => (index === serving ? { ...container, env: pinned(container.env) } : container));
}

/** A service as it can be written back: output-only fields and Google-managed labels dropped, the rest as it is. */
export function writableService(source: CloudRunService): CloudRunService {
  const service: CloudRunService = Object.fromEntries(Object.entries(source).filter(([field]) => !NOT_WRITTEN.includes(field)));
  return { ...service, labels: ownKeys(source.labels), annotations: ownKeys(source.annotations) };
}

/**
 * The template of a new revision of a model's service: the current template, its serving container
 * pinned to one version with the routing env given (and no other), labelled with the version.
 */
export function revisionTemplate(
  template: RevisionTemplate | undefined,
  { model, version, revision }: ServicePin,
  routing: Record<string, string>,
): RevisionTemplate {
  const source = template ?? {};
  return {
    ...source,
    revision,
    labels: { ...ownKeys(source.labels), [MODEL_LABEL]: model, [VERSION_LABEL]: String(version) },
    annotations: ownKeys(source.annotations),
    containers: pinnedContainers(source.containers, model, version, routing),
  };
}

/**
 * The desired service serving one version: a copy of `source` (the base service, or the model's own
 * service) without output-only fields, its serving container pinned by env, labelled, with a new
 * revision name. Traffic follows the latest revision: Cloud Run moves traffic to a revision only once
 * it is ready, so the previous revision keeps serving until then (the zero-downtime guarantee).
 */
export function pinnedService(source: CloudRunService, pin: ServicePin): CloudRunService {
  const labels = { ...ownKeys(source.labels), [MODEL_LABEL]: pin.model, [VERSION_LABEL]: String(pin.version) };
  const template = revisionTemplate(source.template, pin, {});
  return { ...writableService(source), labels, template, traffic: [{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100 }] };
}

/** The version pinned by a container list's serving container, if any. */
export function pinnedVersion(containers: Container[] | undefined): number | undefined {
  if (!containers?.length) return undefined;
  const env = containers[servingContainerIndex(containers)]?.env ?? [];
  const value = env.find((variable) => variable.name === ENV.serveVersion)?.value;
  return value === undefined || !/^\d+$/.test(value) ? undefined : Number(value);
}

/** True when the service's template pins `model` at `version`. */
export function isPinnedTo(service: CloudRunService, model: string, version: number): boolean {
  const containers = service.template?.containers ?? [];
  const env = containers[servingContainerIndex(containers)]?.env ?? [];
  const pinnedModel = env.find((variable) => variable.name === ENV.serveModel)?.value;
  return pinnedModel === model && pinnedVersion(containers) === version;
}

/** True when the latest revision the service created is the one taking traffic and nothing is rolling. */
export function isSettled(service: CloudRunService): boolean {
  return !service.reconciling && !!service.latestReadyRevision && service.latestReadyRevision === service.latestCreatedRevision;
}

/** The message of a Google API error body (`{ error: { message } }`), or undefined. */
export function apiErrorMessage(body: unknown): string | undefined {
  const message = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
  return typeof message === 'string' ? message : undefined;
}
