import type { ApiContext } from './apis.js';
import { ApiError, ok, type Route } from './http-router.js';

/** Artifact Registry (v1): the Docker repositories source deploys push to. */
export function artifactRegistryRoutes({ store }: ApiContext): Route[] {
  const parent = (params: Record<string, string>) => `projects/${params.project}/locations/${params.location}`;
  const repository = (params: Record<string, string>) => `${parent(params)}/repositories/${params.repository}`;
  return [
    {
      method: 'GET',
      pattern: '/v1/projects/{project}/locations/{location}/repositories/{repository}',
      handle: ({ params }) => ok(store.get('artifactregistry', repository(params))),
    },
    {
      method: 'POST',
      pattern: '/v1/projects/{project}/locations/{location}/repositories',
      handle: ({ params, body, query }) => {
        const name = `${parent(params)}/repositories/${query.get('repositoryId')}`;
        const created = store.create('artifactregistry', name, { ...body, name, createTime: new Date().toISOString() });
        return ok(store.operation(parent(params), { '@type': 'type.googleapis.com/google.devtools.artifactregistry.v1.Repository', ...created }));
      },
    },
    {
      method: 'DELETE',
      pattern: '/v1/projects/{project}/locations/{location}/repositories/{repository}/packages/{package}',
      handle: ({ params }) => {
        store.delete('artifactregistry', `${repository(params)}/packages/${params.package}`);
        return ok(store.operation(parent(params), { '@type': 'type.googleapis.com/google.protobuf.Empty' }));
      },
    },
    {
      method: 'GET',
      pattern: '/v1/projects/{project}/locations/{location}/operations/{operation}',
      handle: ({ params }) => ok(store.getOperation(`${parent(params)}/operations/${params.operation}`)),
    },
  ];
}

/**
 * Cloud Run's `builds:submit` (v2), which `gcloud run deploy --source` calls: checks the uploaded
 * source, the build account and the repository, then answers with a finished Cloud Build operation
 * whose image now sits in the repository.
 */
export function submitBuildRoute(context: ApiContext): Route {
  const { store, project, projectNumber } = context;
  return {
    method: 'POST',
    pattern: '/v2/projects/{project}/locations/{location}/builds:submit',
    handle: ({ params, body }) => {
      const source = (body?.storageSource ?? {}) as Record<string, string>;
      store.get('storage', `b/${source.bucket}/o/${source.object}`);
      requireAccount(context, String(body?.serviceAccount ?? ''));
      const imageUri = String(body?.imageUri);
      const [host, imageProject, repository, image] = imageUri.split('/');
      const repositoryName = `projects/${imageProject}/locations/${host!.replace('-docker.pkg.dev', '')}/repositories/${repository}`;
      store.get('artifactregistry', repositoryName);
      store.put('artifactregistry', `${repositoryName}/packages/${image}`, { name: `${repositoryName}/packages/${image}` }, 'google');
      const id = `build-${store.inventory().length}-${Date.now()}`;
      const build = {
        id,
        projectId: project,
        name: `projects/${projectNumber}/locations/${params.location}/builds/${id}`,
        status: 'SUCCESS',
        logUrl: `https://console.cloud.google.com/cloud-build/builds;region=${params.location}/${id}?project=${projectNumber}`,
        serviceAccount: body?.serviceAccount,
        results: { images: [{ name: imageUri, digest: `sha256:${'0'.repeat(56)}${id.length.toString(16).padStart(8, '0')}` }] },
      };
      const operation = store.operation(
        `projects/${project}/locations/${params.location}`,
        { '@type': 'type.googleapis.com/google.devtools.cloudbuild.v1.Build', ...build },
        {
          '@type': 'type.googleapis.com/google.devtools.cloudbuild.v1.BuildOperationMetadata',
          build,
        },
        id,
      );
      return ok({
        buildOperation: operation,
        baseImageUri: `${params.location}-docker.pkg.dev/serverless-runtimes/google-24/runtimes/${(body?.buildpackBuild as Record<string, string> | undefined)?.baseImage}`,
      });
    },
  };
}

function requireAccount({ store, project }: ApiContext, resource: string): void {
  const email = resource.split('/').at(-1)!;
  if (!store.find('iam', `projects/${project}/serviceAccounts/${email}`))
    throw new ApiError(400, 'INVALID_ARGUMENT', `Build service account ${resource} does not exist.`);
}

/** Cloud Build (v1): the operations of builds that `builds:submit` started, as gcloud polls them. */
export function cloudBuildRoutes({ store }: ApiContext): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/v1/projects/{project}/locations/{location}/operations/{operation}',
      handle: ({ params }) => ok(store.getOperation(`projects/${params.project}/locations/${params.location}/operations/${params.operation}`)),
    },
  ];
}
