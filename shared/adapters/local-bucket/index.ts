/** ArtifactStore backend on a folder of this machine: the local stand-in for Cloud Storage, with generations and GCS-format notifications. */
export type { LocalBucketOptions } from './local-bucket-artifact-store.js';
export { LocalBucketArtifactStore } from './local-bucket-artifact-store.js';
