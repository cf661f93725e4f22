import type { ApiContext } from './apis.js';
import { ok, type Route } from './http-router.js';
import { iamRoutes } from './iam-policy.js';
import { applyFieldMask } from './field-mask.js';
import type { Resource, ResourceStore } from './resource-store.js';

/** Pub/Sub (v1): topics and subscriptions as stored, updated by field mask, with their IAM policies. */
export function pubsubRoutes({ store }: ApiContext): Route[] {
  const topic = (params: Record<string, string>) => `projects/${params.project}/topics/${params.topic}`;
  const subscription = (params: Record<string, string>) => `projects/${params.project}/subscriptions/${params.subscription}`;
  return [
    { method: 'GET', pattern: '/v1/projects/{project}/topics/{topic}', handle: ({ params }) => ok(store.get('pubsub', topic(params))) },
    {
      method: 'PUT',
      pattern: '/v1/projects/{project}/topics/{topic}',
      handle: ({ params, body }) => ok(store.create('pubsub', topic(params), { ...body, name: topic(params) })),
    },
    {
      method: 'PATCH',
      pattern: '/v1/projects/{project}/topics/{topic}',
      handle: ({ params, body }) => ok(patch(store, topic(params), body?.topic as Resource, body?.updateMask)),
    },
    {
      method: 'DELETE',
      pattern: '/v1/projects/{project}/topics/{topic}',
      handle: ({ params }) => {
        store.delete('pubsub', topic(params));
        // As in Pub/Sub, a deleted topic's subscriptions remain, detached.
        for (const [name, sub] of store.list('pubsub', `projects/${params.project}/subscriptions/`)) {
          if (sub.topic === topic(params)) store.put('pubsub', name, { ...sub, topic: '_deleted-topic_' });
        }
        return ok({});
      },
    },
    { method: 'GET', pattern: '/v1/projects/{project}/subscriptions/{subscription}', handle: ({ params }) => ok(store.get('pubsub', subscription(params))) },
    {
      method: 'PATCH',
      pattern: '/v1/projects/{project}/subscriptions/{subscription}',
      handle: ({ params, body }) => ok(patch(store, subscription(params), body?.subscription as Resource, body?.updateMask)),
    },
    {
      method: 'DELETE',
      pattern: '/v1/projects/{project}/subscriptions/{subscription}',
      handle: ({ params }) => {
        store.delete('pubsub', subscription(params));
        return ok({});
      },
    },
    ...iamRoutes(store, 'pubsub', ['/v1/projects/{project}/topics/{topic}'], (params) => store.get('pubsub', topic(params)) && topic(params)),
    ...iamRoutes(
      store,
      'pubsub',
      ['/v1/projects/{project}/subscriptions/{subscription}'],
      (params) => store.get('pubsub', subscription(params)) && subscription(params),
    ),
  ];
}

function patch(store: ResourceStore, name: string, changes: Resource | undefined, updateMask: unknown): Resource {
  return store.put('pubsub', name, applyFieldMask(store.get('pubsub', name), changes, String(updateMask ?? '')));
}
