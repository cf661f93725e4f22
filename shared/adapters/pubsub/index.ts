/** EventBus backend on Pub/Sub: publishes with ordering-free JSON messages; works against Google Cloud and the Pub/Sub emulator alike. */
export type { PubSubEventBusOptions } from './pubsub-event-bus.js';
export { PubSubEventBus } from './pubsub-event-bus.js';
