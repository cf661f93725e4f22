import { type OnlineFeatureRow, documentIdOf } from '../../domain/online-features.js';

/** The collection under each dataset's document that holds one document per entity. */
export const ENTITIES_COLLECTION = 'entities';
/** The top collection: one document per materialized dataset. */
export const DATASETS_COLLECTION = 'online_features';
/** A Firestore document id takes at most 1,500 bytes (Firestore's "Usage and limits" page). */
export const MAX_DOCUMENT_ID_BYTES = 1500;

/**
 * What an entity's document holds. Features are kept as their JSON text: any JSON the warehouse holds
 * (nested arrays included, which Firestore maps cannot hold) round-trips exactly, and a read decodes one string.
 */
export interface EntityDocument {
  entity_id: string;
  event_time: string;
  features: string;
}

/** The path of an entity's document: `online_features/{dataset}/entities/{entity}`, ids escaped (documentIdOf). */
export function entityPath(dataset: string, entityId: string): string {
  return `${DATASETS_COLLECTION}/${documentIdOf(dataset)}/${ENTITIES_COLLECTION}/${documentIdOf(entityId)}`;
}

/** A row as its entity's document: the same row always makes the same document. */
export function entityDocument(row: OnlineFeatureRow): EntityDocument {
  return { entity_id: row.entityId, event_time: new Date(row.eventTime).toISOString(), features: JSON.stringify(row.features) };
}
