import type { StoredObject } from '../../ports/artifact-store.port.js';

/** Content type GCS assigns when the writer gave none. */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/**
 * The fields we read from a GCS JSON API object resource, as returned by the objects API and
 * carried by Pub/Sub notifications with payload format JSON_API_V1. Numbers arrive as strings.
 */
export interface GcsObjectResource {
  bucket: string;
  name: string;
  generation: string | number;
  size?: string | number;
  md5Hash?: string;
  contentType?: string;
  metadata?: Record<string, unknown> | null;
  timeCreated?: string;
}

/** The gs:// URI of an object, as error messages and StoredObject.uri spell it. */
export function gcsUri(bucket: string, name: string): string {
  return `gs://${bucket}/${name}`;
}

/** Maps a GCS object resource to a StoredObject, tolerating the optional fields GCS may omit. */
export function toStoredObject(resource: GcsObjectResource): StoredObject {
  return {
    bucket: resource.bucket,
    name: resource.name,
    generation: String(resource.generation),
    size: Number(resource.size ?? 0),
    md5Hash: resource.md5Hash ?? '',
    contentType: resource.contentType || DEFAULT_CONTENT_TYPE,
    metadata: stringValues(resource.metadata),
    timeCreated: resource.timeCreated ?? '',
    uri: gcsUri(resource.bucket, resource.name),
  };
}

// Custom metadata is always strings in GCS, but a cleared key comes back as null; drop those.
function stringValues(metadata: Record<string, unknown> | null | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata ?? {})) {
    if (value !== null && value !== undefined) result[key] = String(value);
  }
  return result;
}
