import type { ApiContext } from './apis.js';
import { createPubsubTrigger, deletePubsubTrigger } from './eventarc-api.js';
import { applyFieldMask } from './field-mask.js';
import { ApiError, ok, type Route } from './http-router.js';
import type { Resource } from './resource-store.js';
import { deleteRunService, putFunctionService } from './run-api.js';
import { createBucket, UPLOAD_PATH } from './storage-api.js';

/** Google's Node.js runtimes for functions, as its support schedule publishes them: after `decommissioned`, nothing deploys. */
const RUNTIMES = [
  { name: 'nodejs18', deprecated: '2025-04-30', decommissioned: '2025-10-30' },
  { name: 'nodejs20', deprecated: '2026-04-30', decommissioned: '2026-10-30' },
  { name: 'nodejs22', deprecated: '2027-04-30', decommissioned: '2027-10-31' },
  { name: 'nodejs24', deprecated: '2028-04-30', decommissioned: '2028-10-31' },
];

function stageOf(runtime: (typeof RUNTIMES)[number], today = new Date().toISOString().slice(0, 10)): string {
  if (today >= runtime.decommissioned) return 'DECOMMISSIONED';
  return today >= runtime.deprecated ? 'DEPRECATED' : 'GA';
}

/** Cloud Functions (v2): functions built from an uploaded source, each with the Cloud Run service and Eventarc trigger Google makes for it. */
export function functionsRoutes(context: ApiContext): Route[] {
  const { store } = context;
  const functionName = (params: Record<string, string>) => `projects/${params.project}/locations/${params.location}/functions/${params.function}`;
  const parent = (params: Record<string, string>) => `projects/${params.project}/locations/${params.location}`;
  return [
    {
      method: 'GET',
      pattern: '/v2/projects/{project}/locations/{location}/functions/{function}',
      handle: ({ params }) => ok(store.get('cloudfunctions', functionName(params))),
    },
    {
      method: 'GET',
      pattern: '/v2/projects/{project}/locations/{location}/runtimes',
      handle: () => ok({ runtimes: RUNTIMES.map((runtime) => ({ name: runtime.name, stage: stageOf(runtime), environment: 'GEN_2', warnings: [] })) }),
    },
    {
      method: 'POST',
      pattern: '/v2/projects/{project}/locations/{location}/functions:generateUploadUrl',
      handle: ({ params }) => ok(uploadUrl(context, params.location!)),
    },
    {
      method: 'POST',
      pattern: '/v2/projects/{project}/locations/{location}/functions',
      handle: ({ params, body, query }) => {
        const name = `${parent(params)}/functions/${query.get('functionId')}`;
        if (store.find('cloudfunctions', name)) throw new ApiError(409, 'ALREADY_EXISTS', `Function ${name} already exists.`);
        return ok(store.operation(parent(params), deployFunction(context, name, { ...body, name }), operationMetadata(name, 'create', body)));
      },
    },
    {
      method: 'PATCH',
      pattern: '/v2/projects/{project}/locations/{location}/functions/{function}',
      handle: ({ params, body, query }) => {
        const current = store.get('cloudfunctions', functionName(params));
        const updated = applyFieldMask(current, body, query.get('updateMask') ?? '');
        return ok(
          store.operation(parent(params), deployFunction(context, functionName(params), updated), operationMetadata(functionName(params), 'update', updated)),
        );
      },
    },
    {
      method: 'DELETE',
      pattern: '/v2/projects/{project}/locations/{location}/functions/{function}',
      handle: ({ params }) => {
        const removed = store.delete('cloudfunctions', functionName(params));
        deleteRunService(context, String((removed.serviceConfig as Resource).service));
        const trigger = (removed.eventTrigger as Resource | undefined)?.trigger;
        if (trigger) deletePubsubTrigger(context, String(trigger));
        return ok(store.operation(parent(params), {}, operationMetadata(functionName(params), 'delete')));
      },
    },
    {
      method: 'GET',
      pattern: '/v2/projects/{project}/locations/{location}/operations/{operation}',
      handle: ({ params }) => ok(store.getOperation(`${parent(params)}/operations/${params.operation}`)),
    },
  ];
}

/** The metadata gcloud follows a function operation by: its stages (build, service, trigger), all complete. */
function operationMetadata(target: string, verb: string, requested?: Resource): Resource {
  const stages = verb === 'delete' ? [] : ['BUILD', 'SERVICE', ...(requested?.eventTrigger ? ['TRIGGER'] : [])];
  return {
    '@type': 'type.googleapis.com/google.cloud.functions.v2.OperationMetadata',
    target,
    verb,
    apiVersion: 'v2',
    stages: stages.map((name) => ({ name, state: 'COMPLETE', message: '' })),
  };
}

/** A signed URL on this server for the source zip, in the uploads bucket Google keeps in the project. */
function uploadUrl(context: ApiContext, region: string): Resource {
  const bucket = `gcf-v2-uploads-${context.projectNumber}-${region}`;
  if (!context.store.find('storage', `b/${bucket}`)) createBucket(context, { name: bucket, location: region }, 'google');
  const object = `upload-${Date.now()}-${Math.floor(Math.random() * 1e6)}.zip`;
  return { uploadUrl: `${context.originOf('storage')}${UPLOAD_PATH}/${bucket}/${object}`, storageSource: { bucket, object } };
}

/** What Google checks before a build and what it adds after one: runtime, accounts, uploaded source; then service, trigger, image. */
function deployFunction(context: ApiContext, name: string, requested: Resource): Resource {
  const { store } = context;
  const build = (requested.buildConfig ?? {}) as Resource;
  requireRuntime(String(build.runtime));
  const source = ((build.source as Resource | undefined)?.storageSource ?? {}) as Resource;
  if (!store.find('storage', `b/${source.bucket}/o/${source.object}`))
    throw new ApiError(400, 'INVALID_ARGUMENT', `Source gs://${source.bucket}/${source.object} was not uploaded.`);
  // Google copies the upload into its sources bucket; the uploads bucket's lifecycle rule then deletes it.
  store.delete('storage', `b/${source.bucket}/o/${source.object}`);
  const service = (requested.serviceConfig ?? {}) as Resource;
  requireServiceAccount(context, String(service.serviceAccountEmail ?? ''), 'serviceConfig.serviceAccountEmail');
  requireServiceAccount(
    context,
    String(build.serviceAccount ?? '')
      .split('/')
      .at(-1)!,
    'buildConfig.serviceAccount',
  );
  const [, project, , region, , functionId] = name.split('/');
  const runService = putFunctionService(context, { region: region!, name: functionId!, function: requested });
  const existingTrigger = (store.find('cloudfunctions', name)?.eventTrigger as Resource | undefined)?.trigger;
  const trigger = requested.eventTrigger
    ? {
        ...(requested.eventTrigger as Resource),
        trigger:
          existingTrigger ??
          createPubsubTrigger(context, { region: region!, functionId: functionId!, runService, eventTrigger: requested.eventTrigger as Resource }),
        triggerRegion: region,
      }
    : undefined;
  storeBuildArtifacts(context, region!, functionId!);
  const now = new Date().toISOString();
  const deployed: Resource = {
    ...requested,
    environment: 'GEN_2',
    state: 'ACTIVE',
    buildConfig: { ...build, dockerRegistry: 'ARTIFACT_REGISTRY', dockerRepository: `projects/${project}/locations/${region}/repositories/gcf-artifacts` },
    serviceConfig: {
      ingressSettings: 'ALLOW_ALL',
      allTrafficOnLatestRevision: true,
      ...service,
      service: runService,
      uri: `https://${functionId}-${context.projectNumber}.${region}.run.app`,
    },
    ...(trigger && { eventTrigger: trigger }),
    url: `https://${region}-${project}.cloudfunctions.net/${functionId}`,
    updateTime: now,
  };
  return store.put('cloudfunctions', name, deployed);
}

function requireRuntime(runtime: string): void {
  const known = RUNTIMES.find((candidate) => candidate.name === runtime);
  if (!known) throw new ApiError(400, 'INVALID_ARGUMENT', `Runtime ${runtime} is not supported.`);
  if (stageOf(known) === 'DECOMMISSIONED')
    throw new ApiError(
      400,
      'INVALID_ARGUMENT',
      `Runtime ${runtime} was decommissioned on ${known.decommissioned}: functions can no longer be created or updated with it.`,
    );
}

function requireServiceAccount({ store, project }: ApiContext, email: string, field: string): void {
  if (!email) return;
  if (!store.find('iam', `projects/${project}/serviceAccounts/${email}`))
    throw new ApiError(400, 'INVALID_ARGUMENT', `${field}: service account ${email} does not exist.`);
}

/** A build leaves the image in the gcf-artifacts repository and the source in the sources bucket; deleting the function keeps both. */
function storeBuildArtifacts(context: ApiContext, region: string, functionId: string): void {
  const { store, project, projectNumber } = context;
  const repository = `projects/${project}/locations/${region}/repositories/gcf-artifacts`;
  if (!store.find('artifactregistry', repository)) store.create('artifactregistry', repository, { name: repository, format: 'DOCKER' }, 'google');
  store.put('artifactregistry', `${repository}/packages/${functionId}`, { name: `${repository}/packages/${functionId}` }, 'google');
  const sources = `gcf-v2-sources-${projectNumber}-${region}`;
  if (!store.find('storage', `b/${sources}`)) createBucket(context, { name: sources, location: region }, 'google');
  store.put('storage', `b/${sources}/o/${functionId}/function-source.zip`, { bucket: sources, name: `${functionId}/function-source.zip` }, 'google');
}
