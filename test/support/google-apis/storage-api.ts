import type { ApiContext } from './apis.js';
import { ApiError, notFound, ok, type Route } from './http-router.js';
import { checksumsOf, parseMultipart } from './object-media.js';
import type { Origin, Policy, Resource } from './resource-store.js';

/** Where a function's source upload goes: the signed URL generateUploadUrl hands out points here. */
export const UPLOAD_PATH = '/__signed-upload';

/** Cloud Storage JSON API (v1): buckets, their IAM and notifications, objects, and the project's service agent. */
export function storageRoutes(context: ApiContext): Route[] {
  const { store } = context;
  const bucket = (params: Record<string, string>) => store.get('storage', `b/${params.bucket}`);
  return [
    { method: 'GET', pattern: '/storage/v1/b/{bucket}', handle: ({ params }) => ok(bucket(params)) },
    {
      method: 'GET',
      pattern: '/storage/v1/b',
      handle: () => ok({ kind: 'storage#buckets', items: store.list('storage', 'b/', /^b\/[^/]+$/).map(([, b]) => b) }),
    },
    { method: 'POST', pattern: '/storage/v1/b', handle: ({ body }) => ok(createBucket(context, body ?? {})) },
    {
      method: 'DELETE',
      pattern: '/storage/v1/b/{bucket}',
      handle: ({ params }) => {
        if (store.list('storage', `b/${params.bucket}/o/`).length > 0)
          throw new ApiError(409, 'FAILED_PRECONDITION', 'The bucket you tried to delete is not empty.');
        for (const [name] of store.list('storage', `b/${params.bucket}/notificationConfigs/`)) store.delete('storage', name);
        store.delete('storage', `b/${params.bucket}`);
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      pattern: '/storage/v1/b/{bucket}/storageLayout',
      handle: ({ params }) => {
        const found = bucket(params);
        return ok({
          kind: 'storage#storageLayout',
          bucket: params.bucket,
          location: found.location,
          locationType: found.locationType,
          hierarchicalNamespace: { enabled: false },
        });
      },
    },
    { method: 'GET', pattern: '/storage/v1/b/{bucket}/iam', handle: ({ params }) => ok(bucket(params) && bucketPolicy(context, params.bucket!)) },
    {
      method: 'PUT',
      pattern: '/storage/v1/b/{bucket}/iam',
      handle: ({ params, body }) =>
        ok(bucket(params) && { kind: 'storage#policy', ...store.setPolicy('storage', `b/${params.bucket}`, (body ?? {}) as Partial<Policy>) }),
    },
    {
      method: 'GET',
      pattern: '/storage/v1/b/{bucket}/managedFolders',
      handle: ({ params }) => ok(bucket(params) && { kind: 'storage#managedFolders', items: [] }),
    },
    ...notificationRoutes(context),
    ...objectRoutes(context),
    {
      method: 'GET',
      pattern: '/storage/v1/projects/{project}/serviceAccount',
      handle: () => ok({ kind: 'storage#serviceAccount', email_address: gcsServiceAgent(context) }),
    },
  ];
}

/** The project's Cloud Storage service agent, which publishes bucket notifications. */
export function gcsServiceAgent({ projectNumber }: Pick<ApiContext, 'projectNumber'>): string {
  return `service-${projectNumber}@gs-project-accounts.iam.gserviceaccount.com`;
}

function bucketPolicy({ store }: ApiContext, name: string): Resource {
  return { kind: 'storage#policy', resourceId: `projects/_/buckets/${name}`, ...store.policy('storage', `b/${name}`) };
}

/** A bucket as Google returns it: the location upper-cased, the project number, defaults filled in. */
export function createBucket({ store, projectNumber }: ApiContext, body: Resource, origin: Origin = 'request'): Resource {
  const name = String(body.name);
  const now = new Date().toISOString();
  const resource = {
    kind: 'storage#bucket',
    storageClass: 'STANDARD',
    locationType: 'region',
    ...body,
    id: name,
    name,
    selfLink: `https://www.googleapis.com/storage/v1/b/${name}`,
    projectNumber,
    location: String(body.location ?? 'US').toUpperCase(),
    metageneration: '1',
    timeCreated: now,
    updated: now,
    etag: 'CAE=',
  };
  return store.create('storage', `b/${name}`, resource, origin);
}

function notificationRoutes(context: ApiContext): Route[] {
  const { store } = context;
  const configs = (bucket: string) => store.list('storage', `b/${bucket}/notificationConfigs/`).map(([, config]) => config);
  return [
    {
      method: 'GET',
      pattern: '/storage/v1/b/{bucket}/notificationConfigs',
      handle: ({ params }) => ok({ kind: 'storage#notifications', items: configs(params.bucket!) }),
    },
    {
      method: 'POST',
      pattern: '/storage/v1/b/{bucket}/notificationConfigs',
      handle: ({ params, body }) => {
        store.get('storage', `b/${params.bucket}`);
        const topic = String(body?.topic ?? '').replace(/^(\/\/pubsub\.googleapis\.com\/)?/, '//pubsub.googleapis.com/');
        requirePublisher(context, topic);
        const id = String(store.list('storage', `b/${params.bucket}/notificationConfigs/`).length + 1);
        const config = {
          kind: 'storage#notification',
          ...body,
          topic,
          id,
          etag: id,
          selfLink: `https://www.googleapis.com/storage/v1/b/${params.bucket}/notificationConfigs/${id}`,
        };
        return ok(store.create('storage', `b/${params.bucket}/notificationConfigs/${id}`, config));
      },
    },
    {
      method: 'DELETE',
      pattern: '/storage/v1/b/{bucket}/notificationConfigs/{id}',
      handle: ({ params }) => {
        store.delete('storage', `b/${params.bucket}/notificationConfigs/${params.id}`);
        return { status: 204 };
      },
    },
  ];
}

/** Google refuses a notification unless the Cloud Storage service agent may publish to its topic. */
function requirePublisher(context: ApiContext, topicUri: string): void {
  const topic = topicUri.replace('//pubsub.googleapis.com/', '');
  if (!context.store.find('pubsub', topic)) throw new ApiError(404, 'NOT_FOUND', `Cloud Pub/Sub topic ${topic} not found`);
  const member = `serviceAccount:${gcsServiceAgent(context)}`;
  const granted = context.store
    .policy('pubsub', topic)
    .bindings.some((binding) => binding.role === 'roles/pubsub.publisher' && binding.members.includes(member));
  if (!granted) throw new ApiError(403, 'PERMISSION_DENIED', `The service account ${gcsServiceAgent(context)} does not have permission to publish to ${topic}`);
}

function objectRoutes({ store }: ApiContext): Route[] {
  const saveObject = (bucket: string, name: string, media: Buffer) => {
    if (!store.find('storage', `b/${bucket}`)) throw notFound(`b/${bucket}`);
    const generation = String(Date.now());
    const object = {
      kind: 'storage#object',
      bucket,
      name,
      id: `${bucket}/${name}/${generation}`,
      generation,
      metageneration: '1',
      size: String(media.length),
      ...checksumsOf(media),
    };
    return store.put('storage', `b/${bucket}/o/${name}`, object);
  };
  return [
    {
      method: 'GET',
      pattern: '/storage/v1/b/{bucket}/o',
      handle: ({ params, query }) =>
        ok(
          listObjects(
            store.list('storage', `b/${params.bucket}/o/`).map(([, object]) => object),
            query,
          ),
        ),
    },
    {
      method: 'GET',
      pattern: '/storage/v1/b/{bucket}/o/{object=**}',
      handle: ({ params }) => ok(store.get('storage', `b/${params.bucket}/o/${params.object}`)),
    },
    {
      method: 'DELETE',
      pattern: '/storage/v1/b/{bucket}/o/{object=**}',
      handle: ({ params }) => {
        store.delete('storage', `b/${params.bucket}/o/${params.object}`);
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      pattern: '/upload/storage/v1/b/{bucket}/o',
      handle: ({ params, query, raw }) => {
        if (query.get('uploadType') !== 'multipart') return ok(saveObject(params.bucket!, String(query.get('name')), raw));
        const { metadata, media } = parseMultipart(raw);
        return ok(saveObject(params.bucket!, String(metadata.name ?? query.get('name')), media));
      },
    },
    {
      method: 'PUT',
      pattern: `${UPLOAD_PATH}/{bucket}/{object=**}`,
      handle: ({ params, raw }) => ok(saveObject(params.bucket!, params.object!, raw)),
    },
  ];
}

/** A page of objects under `prefix`, folded into `prefixes` at `delimiter` as Cloud Storage lists them. */
function listObjects(objects: Resource[], query: URLSearchParams): Resource {
  const prefix = query.get('prefix') ?? '';
  const delimiter = query.get('delimiter');
  const items: Resource[] = [];
  const prefixes = new Set<string>();
  for (const object of objects.filter((candidate) => String(candidate.name).startsWith(prefix))) {
    const rest = String(object.name).slice(prefix.length);
    const cut = delimiter ? rest.indexOf(delimiter) : -1;
    if (cut >= 0) prefixes.add(prefix + rest.slice(0, cut + 1));
    else items.push(object);
  }
  return { kind: 'storage#objects', items, ...(prefixes.size > 0 && { prefixes: [...prefixes] }) };
}
