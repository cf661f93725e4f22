import type { ApiContext } from './apis.js';
import { ApiError, ok, type Route } from './http-router.js';
import type { Resource } from './resource-store.js';

/** Firestore Admin (v1): databases, created and deleted through finished operations. */
export function firestoreRoutes({ store }: ApiContext): Route[] {
  const database = (params: Record<string, string>) => `projects/${params.project}/databases/${params.database}`;
  return [
    { method: 'GET', pattern: '/v1/projects/{project}/databases/{database}', handle: ({ params }) => ok(store.get('firestore', database(params))) },
    {
      method: 'POST',
      pattern: '/v1/projects/{project}/databases',
      handle: ({ params, body, query }) => {
        const name = `projects/${params.project}/databases/${query.get('databaseId') ?? '(default)'}`;
        const created = store.create('firestore', name, {
          concurrencyMode: 'PESSIMISTIC',
          appEngineIntegrationMode: 'DISABLED',
          deleteProtectionState: 'DELETE_PROTECTION_DISABLED',
          pointInTimeRecoveryEnablement: 'POINT_IN_TIME_RECOVERY_DISABLED',
          ...body,
          name,
          uid: `uid-${Date.now()}`,
          createTime: new Date().toISOString(),
          etag: 'firestore-etag',
        });
        return ok(
          store.operation(`projects/${params.project}/databases/${query.get('databaseId')}`, {
            '@type': 'type.googleapis.com/google.firestore.admin.v1.Database',
            ...created,
          }),
        );
      },
    },
    {
      method: 'DELETE',
      pattern: '/v1/projects/{project}/databases/{database}',
      handle: ({ params }) =>
        ok(
          store.operation(database(params), {
            '@type': 'type.googleapis.com/google.firestore.admin.v1.Database',
            ...store.delete('firestore', database(params)),
          }),
        ),
    },
    {
      method: 'GET',
      pattern: '/v1/projects/{project}/databases/{database}/operations/{operation}',
      handle: ({ params }) => ok(store.getOperation(`${database(params)}/operations/${params.operation}`)),
    },
  ];
}

/** BigQuery (v2): datasets and tables as the client library sends them; a dataset with tables is deleted only with deleteContents. */
export function bigqueryRoutes({ store }: ApiContext): Route[] {
  const dataset = (params: Record<string, string>) => `projects/${params.project}/datasets/${params.dataset}`;
  const table = (params: Record<string, string>) => `${dataset(params)}/tables/${params.table}`;
  const tablesOf = (params: Record<string, string>) => store.list('bigquery', `${dataset(params)}/tables/`);
  return [
    { method: 'GET', pattern: '/bigquery/v2/projects/{project}/datasets/{dataset}', handle: ({ params }) => ok(store.get('bigquery', dataset(params))) },
    {
      method: 'POST',
      pattern: '/bigquery/v2/projects/{project}/datasets',
      handle: ({ params, body }) => {
        const reference = body?.datasetReference as { datasetId: string };
        const name = `projects/${params.project}/datasets/${reference.datasetId}`;
        const resource = { kind: 'bigquery#dataset', ...body, id: `${params.project}:${reference.datasetId}`, ...timestamps() };
        return ok(store.create('bigquery', name, resource));
      },
    },
    {
      method: 'DELETE',
      pattern: '/bigquery/v2/projects/{project}/datasets/{dataset}',
      handle: ({ params, query }) => {
        store.get('bigquery', dataset(params));
        const tables = tablesOf(params);
        if (tables.length > 0 && query.get('deleteContents') !== 'true')
          throw new ApiError(400, 'resourceInUse', `Dataset ${params.project}:${params.dataset} is still in use`);
        for (const [name] of tables) store.delete('bigquery', name);
        store.delete('bigquery', dataset(params));
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      pattern: '/bigquery/v2/projects/{project}/datasets/{dataset}/tables/{table}',
      handle: ({ params }) => ok(store.get('bigquery', table(params))),
    },
    {
      method: 'POST',
      pattern: '/bigquery/v2/projects/{project}/datasets/{dataset}/tables',
      handle: ({ params, body }) => {
        store.get('bigquery', dataset(params));
        const tableId = String((body?.tableReference as { tableId?: string } | undefined)?.tableId);
        const name = `${dataset(params)}/tables/${tableId}`;
        const reference = { projectId: params.project, datasetId: params.dataset, tableId };
        const resource: Resource = {
          kind: 'bigquery#table',
          type: 'TABLE',
          ...body,
          tableReference: reference,
          id: `${params.project}:${params.dataset}.${tableId}`,
          ...timestamps(),
        };
        return ok(store.create('bigquery', name, resource));
      },
    },
    {
      method: 'DELETE',
      pattern: '/bigquery/v2/projects/{project}/datasets/{dataset}/tables/{table}',
      handle: ({ params }) => {
        store.delete('bigquery', table(params));
        return { status: 204 };
      },
    },
  ];
}

function timestamps(): Resource {
  const now = String(Date.now());
  return { creationTime: now, lastModifiedTime: now, etag: `etag-${now}` };
}
