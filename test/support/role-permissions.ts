/**
 * Permissions of the predefined roles the platform grants, as Google's IAM role reference lists
 * them (iam/docs/roles-permissions), limited to the services the platform calls. `run.*` style
 * wildcards stand for every permission of that service.
 */
export const ROLE_PERMISSIONS: Record<string, string[]> = {
  'roles/run.admin': ['run.*', 'resourcemanager.projects.get'],
  'roles/run.developer': [
    'run.configurations.*',
    'run.executions.*',
    'run.jobs.create',
    'run.jobs.delete',
    'run.jobs.get',
    'run.jobs.getIamPolicy',
    'run.jobs.list',
    'run.jobs.run',
    'run.jobs.update',
    'run.locations.list',
    'run.operations.*',
    'run.revisions.*',
    'run.routes.*',
    'run.services.create',
    'run.services.delete',
    'run.services.get',
    'run.services.getIamPolicy',
    'run.services.list',
    'run.services.update',
    'resourcemanager.projects.get',
  ],
  'roles/run.invoker': ['run.routes.invoke', 'run.jobs.run'],
  'roles/iam.serviceAccountUser': ['iam.serviceAccounts.actAs', 'iam.serviceAccounts.get', 'iam.serviceAccounts.list', 'resourcemanager.projects.get'],
  'roles/datastore.user': [
    'datastore.entities.*',
    'datastore.databases.get',
    'datastore.indexes.list',
    'datastore.namespaces.get',
    'datastore.namespaces.list',
  ],
  'roles/datastore.viewer': ['datastore.entities.get', 'datastore.entities.list', 'datastore.databases.get', 'datastore.indexes.list'],
};

/** True when `granted` (possibly a wildcard such as `run.*`) covers `needed`. */
export function covers(granted: string, needed: string): boolean {
  return granted === needed || (granted.endsWith('.*') && needed.startsWith(granted.slice(0, -1)));
}
