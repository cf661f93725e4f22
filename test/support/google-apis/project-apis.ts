import type { ApiContext } from './apis.js';
import { type ApiRequest, ApiError, notFound, ok, type Route } from './http-router.js';
import { iamRoutes } from './iam-policy.js';

/** Service Usage (v1, v1beta1): enabled APIs and service identities (service agents). */
export function serviceUsageRoutes(context: ApiContext): Route[] {
  const { store, projectNumber } = context;
  const serviceName = (name: string) => `projects/${projectNumber}/services/${name}`;
  const enabled = () => store.list('serviceusage', `projects/${projectNumber}/services/`).map(([, service]) => service);
  return [
    {
      method: 'GET',
      pattern: '/v1/projects/{project}/services',
      handle: () => ok({ services: enabled() }),
    },
    {
      method: 'GET',
      pattern: '/v1/projects/{project}/services/{service}',
      handle: ({ params }) =>
        ok(
          store.find('serviceusage', serviceName(params.service!)) ?? {
            name: serviceName(params.service!),
            config: { name: params.service },
            state: 'DISABLED',
          },
        ),
    },
    {
      method: 'POST',
      pattern: '/v1/projects/{project}/services:batchEnable',
      handle: ({ body }) => {
        const ids = (body?.serviceIds as string[] | undefined) ?? [];
        const services = ids.map((id) =>
          store.put('serviceusage', serviceName(id), { name: serviceName(id), parent: `projects/${projectNumber}`, config: { name: id }, state: 'ENABLED' }),
        );
        return ok(store.operation('', { services }));
      },
    },
    {
      method: 'POST',
      pattern: '/v1/projects/{project}/services/{service}:enable',
      handle: ({ params }) => {
        const service = { name: serviceName(params.service!), parent: `projects/${projectNumber}`, config: { name: params.service }, state: 'ENABLED' };
        return ok(store.operation('', { service: store.put('serviceusage', serviceName(params.service!), service) }));
      },
    },
    {
      method: 'POST',
      pattern: '/v1beta1/projects/{project}/services/{service}:generateServiceIdentity',
      handle: ({ params }) => ok(store.operation('', serviceIdentity(context, params.service!))),
    },
    { method: 'GET', pattern: '/{version}/operations/{operation}', handle: ({ params }) => ok(store.getOperation(`operations/${params.operation}`)) },
  ];
}

/** The service agent Google creates for an API when asked: `service-<number>@gcp-sa-<api>.iam.gserviceaccount.com`. */
function serviceIdentity({ store, projectNumber }: ApiContext, service: string) {
  const api = service.replace(/\.googleapis\.com$/, '');
  const email = `service-${projectNumber}@gcp-sa-${api}.iam.gserviceaccount.com`;
  store.put('serviceusage', `projects/${projectNumber}/services/${service}/identity`, { email });
  return { '@type': 'type.googleapis.com/google.api.serviceusage.v1beta1.ServiceIdentity', email, uniqueId: '1000000000000000001' };
}

/** Resource Manager (v1, v3): the project and its IAM policy. */
export function resourceManagerRoutes(context: ApiContext): Route[] {
  const { store } = context;
  const project = (request: ApiRequest) => {
    const id = request.params.project!;
    const found = store.find('cloudresourcemanager', `projects/${id}`);
    if (!found) throw new ApiError(403, 'PERMISSION_DENIED', `The caller does not have permission (project ${id})`);
    return found;
  };
  return [
    { method: 'GET', pattern: '/v1/projects/{project}', handle: (request) => ok(project(request)) },
    { method: 'GET', pattern: '/v3/projects/{project}', handle: (request) => ok({ ...project(request), name: `projects/${project(request).projectNumber}` }) },
    ...iamRoutes(store, 'cloudresourcemanager', ['/v1/projects/{project}', '/v3/projects/{project}'], (params) => {
      project({ params } as ApiRequest);
      return `projects/${params.project}`;
    }),
  ];
}

/** IAM (v1): service accounts and their own policies. */
export function iamServiceAccountRoutes(context: ApiContext): Route[] {
  const { store, project } = context;
  const nameOf = (params: Record<string, string>) => {
    const account = params.account!;
    const email = account.includes('@')
      ? account
      : [...store.list('iam', `projects/${project}/serviceAccounts/`)].find(([, sa]) => sa.uniqueId === account)?.[1].email;
    return `projects/${project}/serviceAccounts/${email ?? account}`;
  };
  return [
    { method: 'GET', pattern: '/v1/projects/{project}/serviceAccounts/{account}', handle: ({ params }) => ok(store.get('iam', nameOf(params))) },
    {
      method: 'GET',
      pattern: '/v1/projects/{project}/serviceAccounts',
      handle: () => ok({ accounts: store.list('iam', `projects/${project}/serviceAccounts/`).map(([, account]) => account) }),
    },
    {
      method: 'POST',
      pattern: '/v1/projects/{project}/serviceAccounts',
      handle: ({ params, body }) => {
        const accountId = String(body?.accountId);
        const email = `${accountId}@${params.project}.iam.gserviceaccount.com`;
        const details = (body?.serviceAccount as Record<string, unknown> | undefined) ?? {};
        const uniqueId = String(100_000_000_000_000_000_000n + BigInt(store.list('iam', '').length + 1));
        const account = {
          ...details,
          name: `projects/${params.project}/serviceAccounts/${email}`,
          projectId: params.project,
          uniqueId,
          email,
          oauth2ClientId: uniqueId,
        };
        return ok(store.create('iam', account.name, account));
      },
    },
    {
      method: 'DELETE',
      pattern: '/v1/projects/{project}/serviceAccounts/{account}',
      handle: ({ params }) => {
        const account = store.delete('iam', nameOf(params));
        store.markMemberDeleted(`serviceAccount:${account.email}`, String(account.uniqueId));
        return ok({});
      },
    },
    ...iamRoutes(store, 'iam', ['/v1/projects/{project}/serviceAccounts/{account}'], (params) => {
      const name = nameOf(params);
      if (!store.find('iam', name)) throw notFound(name);
      return name;
    }),
  ];
}
