import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { z } from 'zod';
import { PlatformError } from '../../shared/domain/errors.js';
import { parseVersionNumber, validateAliasName, validateModelName } from '../../shared/domain/names.js';
import type { PromotionPolicy } from '../../shared/domain/registry.js';
import { requireApiKey } from '../../shared/http/auth.js';
import { notFound, onError } from '../../shared/http/errors.js';
import { readRequestBody } from '../../shared/http/json.js';
import type { EventBus } from '../../shared/ports/event-bus.port.js';
import type { ModelRegistry } from '../../shared/ports/model-registry.port.js';
import { promoteModel, rollbackModel } from '../../shared/services/promote-model.js';
import { actorOf, addRolloutRoutes } from './rollout-routes.js';

/** What the registry API is built from. */
export interface RegistryApiOptions {
  registry: () => Promise<ModelRegistry>;
  bus: () => EventBus;
  policy: PromotionPolicy;
  apiKeyHashes: string[];
}

const PromoteBody = z.object({
  version: z.union([z.number(), z.string()]),
  reason: z.string().max(1000).default(''),
  requestId: z.string().min(1).max(200).optional(),
});
const RollbackBody = z.object({ reason: z.string().max(1000).default(''), requestId: z.string().min(1).max(200).optional() });

/** The registry over HTTP: read models, versions and history; promote and roll back aliases; start and stop rollouts. */
export function createRegistryApi({ registry, bus, policy, apiKeyHashes }: RegistryApiOptions): Hono {
  const app = new Hono();
  app.onError(onError);
  app.notFound(notFound());
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.use('/models/*', requireApiKey(apiKeyHashes));
  app.use('/models', requireApiKey(apiKeyHashes));

  app.get('/models', async (c) => c.json({ models: await (await registry()).listModels() }));
  app.get('/models/:name', async (c) => {
    const name = validateModelName(c.req.param('name'));
    const store = await registry();
    const model = await store.getModel(name);
    if (!model) throw new PlatformError('REGISTRY.MODEL_NOT_FOUND', `No model named "${name}".`);
    return c.json({ model, versions: await store.listVersions(name) });
  });
  app.get('/models/:name/versions/:version', async (c) => {
    const name = validateModelName(c.req.param('name'));
    const version = parseVersionNumber(c.req.param('version'));
    const found = await (await registry()).getVersion(name, version);
    if (!found) throw new PlatformError('REGISTRY.VERSION_NOT_FOUND', `Model "${name}" has no version ${version}.`);
    return c.json(found);
  });
  app.get('/models/:name/history', async (c) => c.json({ history: await (await registry()).history(validateModelName(c.req.param('name'))) }));

  app.post('/models/:name/aliases/:alias', async (c) => {
    const body = await readRequestBody(c.req.raw, PromoteBody, 'promotion');
    const request = {
      model: validateModelName(c.req.param('name')),
      alias: validateAliasName(c.req.param('alias')),
      version: parseVersionNumber(body.version),
      actor: actorOf(c.req.raw.headers),
      reason: body.reason,
      requestId: body.requestId ?? c.req.header('idempotency-key') ?? randomUUID(),
    };
    const move = await promoteModel(request, { registry: await registry(), bus: bus(), policy });
    return c.json(move);
  });
  app.post('/models/:name/aliases/:alias/rollback', async (c) => {
    const body = await readRequestBody(c.req.raw, RollbackBody, 'rollback');
    const request = {
      model: validateModelName(c.req.param('name')),
      alias: validateAliasName(c.req.param('alias')),
      actor: actorOf(c.req.raw.headers),
      reason: body.reason,
      requestId: body.requestId ?? c.req.header('idempotency-key') ?? randomUUID(),
    };
    return c.json(await rollbackModel(request, { registry: await registry(), bus: bus() }));
  });
  addRolloutRoutes(app, { registry, bus, policy });
  return app;
}
