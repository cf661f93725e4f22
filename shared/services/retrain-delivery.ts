import { createHash } from 'node:crypto';
import { PlatformError } from '../domain/errors.js';
import type { AuditEntry } from '../domain/registry.js';
import { type RetrainRequested, retrainWindowQuery, windowExportPath } from '../domain/retrain.js';
import type { ArtifactStore } from '../ports/artifact-store.port.js';
import { type Clock, systemClock } from '../ports/clock.port.js';
import type { ModelRegistry } from '../ports/model-registry.port.js';
import type { RetrainStore } from '../ports/retrain-store.port.js';
import type { RetrainTarget } from '../ports/retrain-target.port.js';
import type { Warehouse } from '../ports/warehouse.port.js';

/** Where a delivery reads and records, and what it delivers to. */
export interface DeliverRetrainDependencies {
  targets: RetrainTarget[];
  store: RetrainStore;
  registry: ModelRegistry;
  /** With both, the window is exported to the bucket once, before the first target, and named in the request. */
  warehouse?: Warehouse;
  artifacts?: ArtifactStore;
  clock?: Clock;
}

/** What a delivery did: the request as the targets got it, and per target what happened. */
export interface RetrainDeliveryOutcome {
  request: RetrainRequested;
  delivered: { target: string; detail: string }[];
  /** Targets that had it from an earlier delivery of the same request. */
  skipped: string[];
}

const ACTOR = 'retrain';

/**
 * Delivers a retrain request to every configured target not yet delivered for its id: audits it
 * (`retrain_requested`, once), exports its window once, then tries every target, auditing each
 * success (`retrain_delivered`) and failure (`retrain_failed`, with the reason). A failure throws a
 * transient RETRAIN.DELIVERY_FAILED after the others were tried, so Pub/Sub redelivers with backoff
 * and only the targets still failing are tried again; after the subscription's last attempt the
 * request is dead-lettered.
 */
export async function deliverRetrain(request: RetrainRequested, deps: DeliverRetrainDependencies): Promise<RetrainDeliveryOutcome> {
  const clock = deps.clock ?? systemClock;
  await audit(deps.registry, request, `requested-${request.requestId}`, 'retrain_requested', `${request.reason}: ${request.detail}`, clock);
  const outcome: RetrainDeliveryOutcome = { request, delivered: [], skipped: [] };
  const pending = [];
  for (const target of deps.targets) {
    if ((await deps.store.getDelivery(request.requestId, target.name))?.status === 'delivered') outcome.skipped.push(target.name);
    else pending.push(target);
  }
  if (pending.length === 0) return outcome;
  outcome.request = await withWindowExport(request, deps);
  const failures: string[] = [];
  for (const target of pending) {
    const failure = await deliverTo(target, outcome.request, deps, clock);
    if (failure === undefined) outcome.delivered.push({ target: target.name, detail: 'delivered' });
    else failures.push(`${target.name}: ${failure}`);
  }
  if (failures.length > 0) {
    throw new PlatformError(
      'RETRAIN.DELIVERY_FAILED',
      `Retrain request ${request.requestId} was not delivered to ${failures.join('; ')}. Pub/Sub redelivers it.`,
      {
        permanent: false,
      },
    );
  }
  return outcome;
}

/** Delivers to one target and records the attempt; returns why it failed, or undefined when it took the request. */
async function deliverTo(target: RetrainTarget, request: RetrainRequested, deps: DeliverRetrainDependencies, clock: Clock): Promise<string | undefined> {
  try {
    const detail = await target.deliver(request);
    await deps.store.recordDelivery(request.requestId, target.name, { delivered: true, at: clock.now().toISOString() });
    await audit(deps.registry, request, `delivered-${request.requestId}-${short(target.name)}`, 'retrain_delivered', `${target.name}: ${detail}`, clock);
    return undefined;
  } catch (error) {
    const reason = (error as Error).message;
    const recorded = await deps.store.recordDelivery(request.requestId, target.name, { delivered: false, error: reason, at: clock.now().toISOString() });
    const id = `failed-${request.requestId}-${short(target.name)}-${recorded.attempts}`;
    await audit(deps.registry, request, id, 'retrain_failed', `${target.name} (attempt ${recorded.attempts}): ${reason}`, clock);
    return reason;
  }
}

async function audit(
  registry: ModelRegistry,
  request: RetrainRequested,
  id: string,
  action: AuditEntry['action'],
  reason: string,
  clock: Clock,
): Promise<void> {
  const entry = { id: `retrain-${id}`, action, fromVersion: request.version, toVersion: null, actor: ACTOR };
  await registry.recordAudit(request.model, { ...entry, reason: reason.slice(0, 2000), at: clock.now().toISOString() });
}

/** A short stable key for a target's name (a URL, a command), fit for a document id. */
const short = (name: string): string => createHash('sha256').update(name).digest('hex').slice(0, 16);

/** The request naming its window's NDJSON export in the bucket, written on the first delivery and reused after. */
async function withWindowExport(request: RetrainRequested, { store, warehouse, artifacts }: DeliverRetrainDependencies): Promise<RetrainRequested> {
  if (request.data.windowExport || !warehouse || !artifacts) return request;
  const uri = (await store.getWindowExport(request.requestId)) ?? (await exportWindow(request, warehouse, artifacts));
  await store.recordWindowExport(request.requestId, uri);
  return { ...request, data: { ...request.data, windowExport: uri } };
}

async function exportWindow(request: RetrainRequested, warehouse: Warehouse, artifacts: ArtifactStore): Promise<string> {
  const rows = await warehouse.query(retrainWindowQuery(request));
  const body = rows.map((row) => `${JSON.stringify(row)}\n`).join('');
  const stored = await artifacts.put(windowExportPath(request), new TextEncoder().encode(body), {
    contentType: 'application/x-ndjson',
    metadata: { 'mlops-retrain-request': request.requestId, 'mlops-rows': String(rows.length) },
  });
  return stored.uri;
}
