/** ArtifactStore backend on Cloud Storage: resumable uploads above 8 MiB, reads pinned to a generation. */
export type { GcsArtifactStoreOptions } from './gcs-artifact-store.js';
export { GcsArtifactStore } from './gcs-artifact-store.js';
