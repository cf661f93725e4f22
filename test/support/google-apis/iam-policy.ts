import { ok, type Route } from './http-router.js';
import type { Policy, ResourceStore } from './resource-store.js';

/**
 * `:getIamPolicy` (GET or POST, as each API has it) and `:setIamPolicy` under each path prefix;
 * `resolve` names the resource (throwing when it does not exist) from the prefix's captures.
 */
export function iamRoutes(store: ResourceStore, api: string, prefixes: string[], resolve: (params: Record<string, string>) => string): Route[] {
  return prefixes.flatMap((prefix): Route[] => [
    { method: 'GET', pattern: `${prefix}:getIamPolicy`, handle: ({ params }) => ok(store.policy(api, resolve(params))) },
    { method: 'POST', pattern: `${prefix}:getIamPolicy`, handle: ({ params }) => ok(store.policy(api, resolve(params))) },
    {
      method: 'POST',
      pattern: `${prefix}:setIamPolicy`,
      handle: ({ params, body }) => ok(store.setPolicy(api, resolve(params), (body?.policy ?? {}) as Partial<Policy>)),
    },
    {
      method: 'POST',
      pattern: `${prefix}:testIamPermissions`,
      handle: ({ body }) => ok({ permissions: (body?.permissions as string[] | undefined) ?? [] }),
    },
  ]);
}
