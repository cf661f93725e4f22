import type { Command } from 'commander';
import { PlatformError } from '../../shared/domain/errors.js';
import { WEBHOOK_EVENTS, WEBHOOK_HEADERS } from '../../shared/domain/webhooks.js';
import type { WebhookDelivery, WebhookStore, WebhookSubscription } from '../../shared/ports/webhook-store.port.js';
import { addWebhook, requireWebhook, sendTestWebhook } from '../../shared/services/webhook-subscriptions.js';
import type { CommandDefinition, CommandRuntime, JsonOption } from './command.js';
import { jsonOption, need, refuseUnknownSubcommands } from './command.js';
import { table, UsageError } from './format.js';

const SUBSCRIBABLE = WEBHOOK_EVENTS.filter((event) => event !== 'test').join(', ');

/** `mlops webhooks add|list|remove|test|deliveries`: signed HTTP callbacks on registry, rollout and alert events. */
export const webhooksCommand: CommandDefinition = (program, runtime) => {
  const webhooks = refuseUnknownSubcommands(
    program.command('webhooks').description(`signed HTTP POSTs to your URL on ${SUBSCRIBABLE} (HMAC-SHA256, as MLflow 3's webhooks)`),
  );
  webhooks
    .command('add')
    .argument('<url>', 'where the events are POSTed (http or https)')
    .description('subscribe a URL to events; prints the signing secret, this once')
    .option('--events <list>', `the events, joined by commas: ${SUBSCRIBABLE}`)
    .addOption(jsonOption())
    .action((url: string, flags: JsonOption & { events?: string }) =>
      withStore(runtime, async (store) => {
        const subscription = await addWebhook({ url, events: need(flags.events, '--events <list>', 'webhooks add') }, { store });
        return flags.json ? JSON.stringify(subscription, null, 2) : describeAdded(subscription);
      }),
    );
  webhooks
    .command('list')
    .description('every subscription: id, URL, events (never the secret)')
    .addOption(jsonOption())
    .action(({ json = false }: JsonOption) =>
      withStore(runtime, async (store) => {
        const subscriptions = (await store.list()).map(({ secret: _secret, ...shown }) => shown);
        if (json) return JSON.stringify(subscriptions, null, 2);
        if (subscriptions.length === 0) return 'No webhooks. Add one with: mlops webhooks add <url> --events model_version.created';
        return table(
          ['ID', 'URL', 'EVENTS', 'ACTIVE', 'CREATED'],
          subscriptions.map((s) => [s.id, s.url, s.events.join(','), s.active ? 'yes' : 'no', s.createdAt]),
        );
      }),
    );
  webhooks
    .command('remove')
    .argument('<id>', 'the subscription id (see: mlops webhooks list)')
    .description('stop sending to a subscription, and forget its delivery history')
    .action((id: string) =>
      withStore(runtime, async (store) => {
        if (!(await store.remove(id))) await requireWebhook(store, id);
        return `Removed webhook ${id}.`;
      }),
    );
  testCommand(webhooks, runtime);
  webhooks
    .command('deliveries')
    .argument('<id>', 'the subscription id')
    .description("a subscription's deliveries, newest first: event, status, tries, the receiver's last answer")
    .option('--limit <n>', 'how many', '20')
    .addOption(jsonOption())
    .action((id: string, flags: JsonOption & { limit: string }) =>
      withStore(runtime, async (store) => {
        await requireWebhook(store, id);
        const deliveries = await store.deliveries(id, positiveLimit(flags.limit));
        if (flags.json) return JSON.stringify(deliveries, null, 2);
        return deliveries.length === 0 ? `No deliveries to ${id} yet. Send one with: mlops webhooks test ${id}` : describeDeliveries(deliveries);
      }),
    );
};

function testCommand(webhooks: Command, runtime: CommandRuntime): void {
  webhooks
    .command('test')
    .argument('<id>', 'the subscription id')
    .description('send a signed `test` event now and wait for the answer (recorded in the deliveries)')
    .addOption(jsonOption())
    .action((id: string, { json = false }: JsonOption) =>
      withStore(runtime, async (store) => {
        const outcome = await sendTestWebhook(id, { store });
        if (outcome.status !== 'delivered') {
          throw new PlatformError('WEBHOOK.DELIVERY_FAILED', `The test event to ${outcome.url} failed after ${tries(outcome.attempts)}: ${outcome.error}`, {
            details: { outcome },
          });
        }
        return json ? JSON.stringify(outcome, null, 2) : `Delivered a test event to ${outcome.url}: ${outcome.statusCode} after ${tries(outcome.attempts)}.`;
      }),
    );
}

/** Runs a command with the webhook store and prints what it returns; the CLI closes the platform's clients as it exits. */
async function withStore(runtime: CommandRuntime, work: (store: WebhookStore) => Promise<string>): Promise<void> {
  runtime.io.print(await work(await runtime.context().platform.webhooks()));
}

function describeAdded(subscription: WebhookSubscription): string {
  return [
    `Added webhook ${subscription.id}: ${subscription.url} on ${subscription.events.join(', ')}.`,
    `Signing secret (shown this once; keep it where your receiver can read it):`,
    `  ${subscription.secret}`,
    `Each POST carries ${WEBHOOK_HEADERS.deliveryId}, ${WEBHOOK_HEADERS.timestamp} and ${WEBHOOK_HEADERS.signature}: v1,<base64 HMAC-SHA256 of "<delivery id>.<timestamp>.<body>">.`,
    `Try it with: mlops webhooks test ${subscription.id}`,
  ].join('\n');
}

function describeDeliveries(deliveries: WebhookDelivery[]): string {
  return table(
    ['UPDATED', 'EVENT', 'EVENT ID', 'STATUS', 'TRIES', 'LAST ANSWER'],
    deliveries.map((d) => [d.updatedAt, d.event, d.eventId, statusText(d), d.attempts, d.lastError ?? d.lastStatusCode]),
  );
}

function statusText(delivery: WebhookDelivery): string {
  return delivery.status === 'failed' && delivery.retryable ? 'failed (retried on redelivery)' : delivery.status;
}

const tries = (attempts: number): string => `${attempts} ${attempts === 1 ? 'try' : 'tries'}`;

function positiveLimit(text: string): number {
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit expects a whole number of at least 1, got "${text}".`);
  return limit;
}
