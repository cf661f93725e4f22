import { TOPICS } from '../../domain/topics.js';
import { MODEL_OBJECT_PREFIX } from '../../domain/upload-metadata.js';

/** The artifact bucket's GCS notification: model-artifacts hears of every object finalized under models/. */
export const BUCKET_NOTIFICATION = {
  topic: TOPICS.modelArtifacts,
  objectNamePrefix: MODEL_OBJECT_PREFIX,
  eventTypes: ['OBJECT_FINALIZE'],
  payloadFormat: 'JSON_API_V1',
} as const;

/** The object fields a GCS OBJECT_FINALIZE notification carries. */
export interface FinalizedObject {
  bucket: string;
  name: string;
  generation: string;
  size: number;
  md5Hash: string;
  crc32c?: string;
  contentType: string;
  metadata: Record<string, string>;
  timeCreated: string;
}

/**
 * Builds a notification exactly as GCS publishes it (payload format JSON_API_V1): the object
 * resource as the message body and the documented attributes. The local bucket emits these so
 * register-model cannot tell it from GCS.
 */
export function objectFinalizeNotification(
  object: FinalizedObject,
  notificationConfig: string,
): { data: Record<string, unknown>; attributes: Record<string, string> } {
  const id = `${object.bucket}/${object.name}/${object.generation}`;
  const encodedName = encodeURIComponent(object.name);
  return {
    data: {
      kind: 'storage#object',
      id,
      selfLink: `https://www.googleapis.com/storage/v1/b/${object.bucket}/o/${encodedName}`,
      name: object.name,
      bucket: object.bucket,
      generation: object.generation,
      metageneration: '1',
      contentType: object.contentType,
      timeCreated: object.timeCreated,
      updated: object.timeCreated,
      storageClass: 'STANDARD',
      timeStorageClassUpdated: object.timeCreated,
      size: String(object.size),
      md5Hash: object.md5Hash,
      mediaLink: `https://storage.googleapis.com/download/storage/v1/b/${object.bucket}/o/${encodedName}?generation=${object.generation}&alt=media`,
      ...(object.crc32c ? { crc32c: object.crc32c } : {}),
      ...(Object.keys(object.metadata).length > 0 ? { metadata: object.metadata } : {}),
      etag: Buffer.from(object.generation).toString('base64'),
    },
    attributes: {
      notificationConfig,
      eventType: 'OBJECT_FINALIZE',
      payloadFormat: 'JSON_API_V1',
      bucketId: object.bucket,
      objectId: object.name,
      objectGeneration: object.generation,
      eventTime: object.timeCreated,
    },
  };
}

/**
 * The notification GCS would publish for an object the bucket finalized, or undefined when the
 * object is outside the notification's prefix (GCS publishes nothing for those).
 */
export function bucketNotificationFor(
  object: FinalizedObject,
): { topic: string; data: Record<string, unknown>; attributes: Record<string, string> } | undefined {
  if (!object.name.startsWith(BUCKET_NOTIFICATION.objectNamePrefix)) return undefined;
  return { topic: BUCKET_NOTIFICATION.topic, ...objectFinalizeNotification(object, `projects/_/buckets/${object.bucket}/notificationConfigs/1`) };
}
