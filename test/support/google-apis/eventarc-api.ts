import type { ApiContext } from './apis.js';
import { ApiError, ok, type Route } from './http-router.js';
import type { Resource } from './resource-store.js';

/** Eventarc (v1): the triggers Cloud Functions creates for topic-triggered functions. */
export function eventarcRoutes({ store }: ApiContext): Route[] {
  return [
    {
      method: 'GET',
      pattern: '/v1/projects/{project}/locations/{location}/triggers/{trigger}',
      handle: ({ params }) => ok(store.get('eventarc', `projects/${params.project}/locations/${params.location}/triggers/${params.trigger}`)),
    },
  ];
}

/** What a function's topic trigger needs from Google. */
export interface PubsubTriggerRequest {
  region: string;
  functionId: string;
  /** The function's Cloud Run service, which the subscription pushes to. */
  runService: string;
  eventTrigger: Resource;
}

/**
 * Creates the Eventarc trigger of a topic-triggered function and the push subscription Eventarc names
 * for it (`eventarc-<region>-<function>-<n>-sub-<n>`), as Google does; returns the trigger's name.
 */
export function createPubsubTrigger({ store, project }: ApiContext, { region, functionId, runService, eventTrigger }: PubsubTriggerRequest): string {
  const topic = String(eventTrigger.pubsubTopic);
  if (!store.find('pubsub', topic)) throw new ApiError(400, 'INVALID_ARGUMENT', `Topic ${topic} does not exist.`);
  const serial = 100 + store.list('eventarc', `projects/${project}/locations/`).length;
  const name = `projects/${project}/locations/${region}/triggers/${functionId}-${serial}`;
  const subscription = `projects/${project}/subscriptions/eventarc-${region}-${functionId}-${serial}-sub-${serial}`;
  const service = runService.split('/').at(-1);
  const account = String(eventTrigger.serviceAccountEmail ?? '');
  store.create(
    'pubsub',
    subscription,
    {
      name: subscription,
      topic,
      pushConfig: {
        pushEndpoint: `https://${service}.${region}.run.app?__GCP_CloudEventsMode=CUSTOM_PUBSUB_${topic}`,
        oidcToken: { serviceAccountEmail: account },
      },
      ackDeadlineSeconds: 600,
      messageRetentionDuration: '86400s',
      retryPolicy: { minimumBackoff: '10s', maximumBackoff: '600s' },
      labels: { 'goog-eventarc': '' },
      state: 'ACTIVE',
    },
    'google',
  );
  const trigger = {
    name,
    uid: `uid-${serial}`,
    eventFilters: [{ attribute: 'type', value: String(eventTrigger.eventType ?? 'google.cloud.pubsub.topic.v1.messagePublished') }],
    serviceAccount: account,
    destination: { cloudRun: { service, region, path: '/' } },
    transport: { pubsub: { topic, subscription } },
    labels: { 'goog-managed-by': 'cloudfunctions' },
  };
  store.create('eventarc', name, trigger, 'google');
  return name;
}

/** Deletes a trigger and the subscription Eventarc made for it. */
export function deletePubsubTrigger({ store }: ApiContext, name: string): void {
  const trigger = store.find('eventarc', name);
  if (!trigger) return;
  const subscription = String(((trigger.transport as Resource).pubsub as Resource).subscription);
  if (store.find('pubsub', subscription)) store.delete('pubsub', subscription);
  store.delete('eventarc', name);
}
