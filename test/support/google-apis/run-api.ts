import type { ApiContext } from './apis.js';
import { submitBuildRoute } from './build-apis.js';
import { ApiError, type ApiRequest, ok, type Route } from './http-router.js';
import { iamRoutes } from './iam-policy.js';
import type { Resource } from './resource-store.js';

const KNATIVE = '/apis/serving.knative.dev/v1/namespaces/{namespace}/services';

/**
 * Cloud Run: services in the Knative form gcloud reads and writes (v1, on the regional endpoint whose
 * region the proxy passes on), the v2 view the client library lists, and service IAM.
 */
export function runRoutes(context: ApiContext): Route[] {
  const { store } = context;
  const v1Name = (request: ApiRequest) => `projects/${context.project}/locations/${regionOf(request)}/services/${request.params.service}`;
  // Clients may name the project by number, as Google's own responses do.
  const v2Name = (params: Record<string, string>) => `projects/${context.project}/locations/${params.location}/services/${params.service}`;
  return [
    { method: 'GET', pattern: `${KNATIVE}/{service}`, handle: (request) => ok(store.get('run', v1Name(request))) },
    {
      method: 'POST',
      pattern: KNATIVE,
      handle: (request) => {
        const name = `projects/${context.project}/locations/${regionOf(request)}/services/${(request.body?.metadata as Resource | undefined)?.name}`;
        if (store.find('run', name)) throw new ApiError(409, 'ALREADY_EXISTS', `Resource '${name}' already exists.`);
        return ok(store.put('run', name, served(context, regionOf(request), request.body ?? {}, undefined)));
      },
    },
    {
      method: 'PUT',
      pattern: `${KNATIVE}/{service}`,
      handle: (request) => ok(store.put('run', v1Name(request), served(context, regionOf(request), request.body ?? {}, store.get('run', v1Name(request))))),
    },
    {
      method: 'DELETE',
      pattern: `${KNATIVE}/{service}`,
      handle: (request) => {
        deleteRunService(context, v1Name(request));
        return ok({ kind: 'Status', apiVersion: 'v1', status: 'Success' });
      },
    },
    ...iamRoutes(
      store,
      'run',
      ['/v1/projects/{project}/locations/{location}/services/{service}', '/v2/projects/{project}/locations/{location}/services/{service}'],
      (params) => {
        const name = v2Name(params);
        store.get('run', name);
        return name;
      },
    ),
    submitBuildRoute(context),
    {
      method: 'GET',
      pattern: '/v2/projects/{project}/locations/{location}/services/{service}',
      handle: ({ params }) => ok(v2View(context, store.get('run', v2Name(params)))),
    },
    {
      method: 'GET',
      pattern: '/v2/projects/{project}/locations/{location}/services',
      handle: ({ params }) =>
        ok({
          services: store.list('run', `projects/${context.project}/locations/${params.location}/services/`).map(([, service]) => v2View(context, service)),
        }),
    },
    {
      method: 'DELETE',
      pattern: '/v2/projects/{project}/locations/{location}/services/{service}',
      handle: ({ params }) => {
        const removed = store.get('run', v2Name(params));
        deleteRunService(context, v2Name(params));
        return ok(store.operation(`projects/${context.project}/locations/${params.location}`, v2View(context, removed)));
      },
    },
  ];
}

function regionOf(request: ApiRequest): string {
  if (!request.region) throw new ApiError(400, 'INVALID_ARGUMENT', 'Cloud Run v1 is served on regional endpoints (https://<region>-run.googleapis.com).');
  return request.region;
}

/** A service as Google stores it: what was sent, plus identity, generation and a Ready status for the latest revision. */
function served({ projectNumber }: ApiContext, region: string, sent: Resource, previous: Resource | undefined): Resource {
  const metadata = (sent.metadata ?? {}) as Resource;
  const name = String(metadata.name);
  const previousMetadata = (previous?.metadata ?? {}) as Resource;
  const generation = Number(previousMetadata.generation ?? 0) + 1;
  const revision = `${name}-${String(generation).padStart(5, '0')}-fake`;
  const url = `https://${name}-${projectNumber}.${region}.run.app`;
  const condition = (type: string) => ({ type, status: 'True', lastTransitionTime: new Date().toISOString() });
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    ...sent,
    metadata: {
      ...metadata,
      namespace: projectNumber,
      uid: previousMetadata.uid ?? `uid-${name}-${Date.now()}`,
      generation,
      creationTimestamp: previousMetadata.creationTimestamp ?? new Date().toISOString(),
      labels: { ...(metadata.labels as Resource | undefined), 'cloud.googleapis.com/location': region },
    },
    status: {
      observedGeneration: generation,
      conditions: [condition('Ready'), condition('ConfigurationsReady'), condition('RoutesReady')],
      latestReadyRevisionName: revision,
      latestCreatedRevisionName: revision,
      traffic: [{ revisionName: revision, percent: 100, latestRevision: true }],
      url,
      address: { url },
    },
  };
}

/** What a function's Cloud Run service is for the runtime: Google's own labels and the function's settings. */
export function putFunctionService(context: ApiContext, { region, name, function: fn }: { region: string; name: string; function: Resource }): string {
  const { store, project } = context;
  const key = `projects/${project}/locations/${region}/services/${name}`;
  const previous = store.find('run', key);
  const config = (fn.serviceConfig ?? {}) as Resource;
  const previousAnnotations = ((previous?.metadata as Resource | undefined)?.annotations ?? {}) as Resource;
  const sent = {
    metadata: {
      name,
      labels: { ...(fn.labels as Resource | undefined), 'goog-managed-by': 'cloudfunctions' },
      annotations: { ...previousAnnotations, 'cloudfunctions.googleapis.com/function-id': name },
    },
    spec: {
      template: {
        spec: {
          serviceAccountName: config.serviceAccountEmail,
          timeoutSeconds: config.timeoutSeconds,
          containers: [
            { image: `${region}-docker.pkg.dev/${project}/gcf-artifacts/${name}:latest`, resources: { limits: { memory: config.availableMemory } } },
          ],
        },
      },
    },
  };
  store.put('run', key, served(context, region, sent, previous), 'google');
  return key;
}

/** A minimal service with these labels, as a client outside the plan creates one (serving-rollout's per-model copies). */
export function putRunService(context: ApiContext, { region, name, labels }: { region: string; name: string; labels: Record<string, string> }): void {
  const sent = {
    metadata: { name, labels, annotations: {} },
    spec: { template: { spec: { containers: [{ image: `${region}-docker.pkg.dev/${context.project}/copies/${name}` }] } } },
  };
  context.store.put('run', `projects/${context.project}/locations/${region}/services/${name}`, served(context, region, sent, undefined));
}

/** Removes a service and its policy; absent services are fine (a function's service may be gone already). */
export function deleteRunService({ store }: ApiContext, name: string): void {
  if (store.find('run', name)) store.delete('run', name);
}

/** The v2 shape of a stored service: name, labels, annotations, URI. */
function v2View({ project }: ApiContext, service: Resource): Resource {
  const metadata = service.metadata as Resource;
  const labels = metadata.labels as Record<string, string>;
  const name = `projects/${project}/locations/${labels['cloud.googleapis.com/location']}/services/${metadata.name}`;
  return { name, labels, annotations: metadata.annotations ?? {}, uri: (service.status as Resource).url, generation: String(metadata.generation) };
}
