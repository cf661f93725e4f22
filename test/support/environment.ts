import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';

/**
 * Points this test file's Google clients at the shared emulators and gives it a project id of
 * its own, so files running in parallel never see each other's topics or documents.
 */
export function useEmulators(): { projectId: string; pubsubHost: string; firestoreHost: string } {
  const projectId = `test-${randomUUID().slice(0, 8)}`;
  const pubsubHost = inject('pubsubHost');
  const firestoreHost = inject('firestoreHost');
  Object.assign(process.env, {
    PUBSUB_EMULATOR_HOST: pubsubHost,
    FIRESTORE_EMULATOR_HOST: firestoreHost,
    GOOGLE_CLOUD_PROJECT: projectId,
    METADATA_SERVER_DETECTION: 'none',
    MLOPS_LOG_LEVEL: process.env.MLOPS_LOG_LEVEL ?? 'silent',
  });
  return { projectId, pubsubHost, firestoreHost };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, { timeoutMs = 10_000, intervalMs = 50, what = 'condition' } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError}` : ''}`);
}
