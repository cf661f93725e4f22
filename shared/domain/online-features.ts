import { PlatformError } from './errors.js';
import { describeValue } from './serving/input-plan.js';

/**
 * The version tag naming the offline_features dataset whose latest rows a version looks up at /predict
 * (`features.online=customers`): the dataset must have been materialized to the online store.
 */
export const ONLINE_FEATURES_TAG = 'features.online';

/** An entity's features as the online store keeps them: its latest offline_features row. */
export interface OnlineFeatureRow {
  entityId: string;
  /** When the features were observed, ISO 8601: a row only replaces an older one. */
  eventTime: string;
  features: Record<string, unknown>;
}

/** A /predict body that names entities: their ids and, optionally, instances of the same length whose features win. */
export interface EntityRequest {
  entityIds: string[];
  given: Record<string, unknown>[] | undefined;
}

/** Longest entity id a request may name; a Firestore document id takes at most 1,500 bytes. */
export const MAX_ENTITY_ID_LENGTH = 500;
/** Unknown entities named in a refusal; the rest are counted. */
const NAMED_UNKNOWN = 20;

/** The dataset a version reads online features from (its `features.online` tag), or undefined. */
export function onlineDatasetOf(tags: Record<string, string> | undefined): string | undefined {
  const dataset = tags?.[ONLINE_FEATURES_TAG]?.trim();
  return dataset ? dataset : undefined;
}

/** True when a /predict body names entities to look features up for: one property read, for the hot path. */
export function namesEntities(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (body as { entity_ids?: unknown }).entity_ids !== undefined;
}

/** Whether `incoming` should replace `stored`: only a strictly newer row does, so an older or repeated one never wins. */
export function supersedes(incoming: Pick<OnlineFeatureRow, 'eventTime'>, stored: Pick<OnlineFeatureRow, 'eventTime'> | undefined): boolean {
  return stored === undefined || Date.parse(incoming.eventTime) > Date.parse(stored.eventTime);
}

/** Each entity's latest row, in entity id order; of rows with the same entity and time, the first is kept. */
export function latestPerEntity(rows: readonly OnlineFeatureRow[]): OnlineFeatureRow[] {
  const latest = new Map<string, OnlineFeatureRow>();
  for (const row of rows) {
    if (supersedes(row, latest.get(row.entityId))) latest.set(row.entityId, row);
  }
  return [...latest.values()].sort((a, b) => (a.entityId < b.entityId ? -1 : a.entityId > b.entityId ? 1 : 0));
}

/**
 * A Firestore document id for an entity or dataset id: `/` cannot appear in one, nor can `.`, `..` or `__x__`,
 * so `%` and `/` are escaped as in a URL and a leading `.` or `_` of those forms too. Distinct ids stay distinct.
 */
export function documentIdOf(id: string): string {
  const escaped = id.replace(/[%/]/g, (character) => (character === '%' ? '%25' : '%2F'));
  if (escaped !== '.' && escaped !== '..' && !/^__.*__$/.test(escaped)) return escaped;
  return escaped.startsWith('.') ? `%2E${escaped.slice(1)}` : `%5F${escaped.slice(1)}`;
}

/**
 * Reads `{"entity_ids": [...], "instances"?: [...]}`; throws MODEL.INVALID_INPUT naming the fault. Instances sent
 * beside entity ids are objects, one per id, whose features win over the looked-up ones.
 */
export function readEntityRequest(body: unknown, maxBatch: number): EntityRequest {
  const { entity_ids: ids, instances } = body as { entity_ids: unknown; instances?: unknown };
  if (!Array.isArray(ids) || ids.length === 0) throw invalid(`"entity_ids" must be a non-empty array of entity ids, got ${describeValue(ids)}.`);
  if (ids.length > maxBatch) {
    throw invalid(`"entity_ids" has ${ids.length} entries but at most ${maxBatch} are accepted per request; split them across several requests.`);
  }
  ids.forEach((id, index) => {
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ENTITY_ID_LENGTH) {
      throw invalid(`entity_ids[${index}] is ${describeValue(id)}; each entity id must be a non-empty string of at most ${MAX_ENTITY_ID_LENGTH} characters.`);
    }
  });
  if (instances === undefined) return { entityIds: ids, given: undefined };
  if (!Array.isArray(instances) || instances.length !== ids.length) {
    throw invalid(`"instances" beside "entity_ids" must be an array of the same length (${ids.length}), got ${describeValue(instances)}.`);
  }
  instances.forEach((instance, index) => {
    if (typeof instance !== 'object' || instance === null || Array.isArray(instance)) {
      throw invalid(
        `instances[${index}] is ${describeValue(instance)}; beside "entity_ids" each instance must be an object keyed by feature name, holding the features that win over the looked-up ones.`,
      );
    }
  });
  return { entityIds: ids, given: instances as Record<string, unknown>[] };
}

/**
 * One instance per entity id: the entity's stored features the model takes (by `names`), overridden by the
 * instance sent for it. Throws FEATURES.UNKNOWN_ENTITY naming every id the store does not hold.
 */
export function withOnlineFeatures(
  { entityIds, given }: EntityRequest,
  found: ReadonlyMap<string, Record<string, unknown>>,
  names: readonly string[],
  dataset: string,
): Record<string, unknown>[] {
  const unknown = [...new Set(entityIds.filter((id) => !found.has(id)))];
  if (unknown.length > 0) throw unknownEntities(unknown, dataset);
  return entityIds.map((id, index) => {
    const stored = found.get(id)!;
    const instance: Record<string, unknown> = {};
    for (const name of names) if (Object.hasOwn(stored, name)) instance[name] = stored[name];
    return given ? Object.assign(instance, given[index]) : instance;
  });
}

/** FEATURES.UNKNOWN_ENTITY: the online store holds no features for these entities of the dataset. */
export function unknownEntities(ids: readonly string[], dataset: string): PlatformError {
  const named = ids
    .slice(0, NAMED_UNKNOWN)
    .map((id) => JSON.stringify(id))
    .join(', ');
  const more = ids.length > NAMED_UNKNOWN ? ` and ${ids.length - NAMED_UNKNOWN} more` : '';
  return new PlatformError(
    'FEATURES.UNKNOWN_ENTITY',
    `No online features for entity id(s) ${named}${more} in dataset "${dataset}": check the ids, or load their rows into offline_features and materialize the dataset again.`,
    { details: { dataset, unknownEntities: ids.slice(0, NAMED_UNKNOWN), unknownCount: ids.length } },
  );
}

/** FEATURES.NOT_ONLINE: entity ids were sent to a version that names no online dataset. */
export function notOnline(model: string, version: number): PlatformError {
  return new PlatformError(
    'FEATURES.NOT_ONLINE',
    `Version ${version} of "${model}" looks up no online features, so "entity_ids" cannot be used: upload it with --tag ${ONLINE_FEATURES_TAG}=<dataset id> (a dataset materialized to the online store), or send every feature in "instances".`,
  );
}

function invalid(message: string): PlatformError {
  return new PlatformError('MODEL.INVALID_INPUT', message);
}
