import { ApiError, type Route } from './http-router.js';
import { iamServiceAccountRoutes, resourceManagerRoutes, serviceUsageRoutes } from './project-apis.js';
import { artifactRegistryRoutes, cloudBuildRoutes } from './build-apis.js';
import { bigqueryRoutes, firestoreRoutes } from './data-apis.js';
import { eventarcRoutes } from './eventarc-api.js';
import { functionsRoutes } from './functions-api.js';
import { pubsubRoutes } from './pubsub-api.js';
import { runRoutes } from './run-api.js';
import { schedulerRoutes } from './scheduler-api.js';
import { storageRoutes } from './storage-api.js';
import type { ResourceStore } from './resource-store.js';

/** The APIs the fake plays, each on its own port. */
export const API_NAMES = [
  'serviceusage',
  'cloudresourcemanager',
  'iam',
  'pubsub',
  'storage',
  'firestore',
  'cloudfunctions',
  'eventarc',
  'run',
  'artifactregistry',
  'cloudbuild',
  'bigquery',
  'cloudscheduler',
  'logging',
] as const;

/** One API the fake plays. */
export type ApiName = (typeof API_NAMES)[number];

/** What every API module shares: the project, the store, and the URL of any API (for URLs handed out). */
export interface ApiContext {
  project: string;
  projectNumber: string;
  store: ResourceStore;
  originOf: (api: ApiName) => string;
}

/** gcloud's `api_endpoint_overrides/<property>` names, each sent to the API that answers it. */
export const GCLOUD_OVERRIDES: Record<string, ApiName> = Object.fromEntries(API_NAMES.map((name) => [name, name]));

/** The routes of each API. */
export const API_ROUTES: Record<ApiName, (context: ApiContext) => Route[]> = {
  ...(Object.fromEntries(API_NAMES.map((name) => [name, (): Route[] => []])) as Record<ApiName, () => Route[]>),
  serviceusage: serviceUsageRoutes,
  cloudresourcemanager: resourceManagerRoutes,
  iam: iamServiceAccountRoutes,
  pubsub: pubsubRoutes,
  storage: storageRoutes,
  firestore: firestoreRoutes,
  bigquery: bigqueryRoutes,
  cloudscheduler: schedulerRoutes,
  cloudfunctions: functionsRoutes,
  eventarc: eventarcRoutes,
  run: runRoutes,
  artifactregistry: artifactRegistryRoutes,
  cloudbuild: cloudBuildRoutes,
};

/** What exists before any deploy: the project itself. */
export function seedProject({ store, project, projectNumber }: ApiContext): void {
  store.put('cloudresourcemanager', `projects/${project}`, { projectId: project, projectNumber, name: project, lifecycleState: 'ACTIVE' });
}

/** APIs callable before anything is enabled: Service Usage itself. */
const ALWAYS_ON: readonly ApiName[] = ['serviceusage'];

/** Refuses a call to an API the project has not enabled, with the 403 Google answers then. */
export function requireEnabled({ store, projectNumber }: ApiContext, api: ApiName): void {
  if (ALWAYS_ON.includes(api) || store.find('serviceusage', `projects/${projectNumber}/services/${api}.googleapis.com`)) return;
  throw new ApiError(
    403,
    'PERMISSION_DENIED',
    `${api}.googleapis.com has not been used in project ${projectNumber} before or it is disabled (SERVICE_DISABLED).`,
  );
}
