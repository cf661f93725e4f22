import type { StoredObject } from '../../../shared/ports/artifact-store.port.js';
import type { Platform } from '../../../shared/runtime/platform.js';

/** What the steps learn and pass on: the uploaded object, its version, where it is served, the prediction made. */
export interface SmokeState {
  object?: StoredObject;
  version?: number;
  url?: string;
  predictionId?: string;
}

/** What every step works with. */
export interface SmokeContext {
  /** The composition root of the platform under test: Google Cloud, or the local one. */
  platform: Platform;
  model: string;
  apiKey?: string;
  state: SmokeState;
  /** When the step must be done by (epoch ms). */
  deadline: number;
}

/** One step of the smoke: does its part and says in a few words what it saw. */
export interface SmokeStep {
  name: string;
  /** Longest the step may take, in seconds: generous enough for a cold Google Cloud deployment. */
  timeoutSeconds: number;
  run(context: SmokeContext): Promise<string>;
}

/** A step found the platform misbehaving (a rejection, a refused key): fails the step at once, with no more waiting. */
export class SmokeFailure extends Error {
  override name = 'SmokeFailure';
}

/**
 * Calls `check` until it returns a value, backing off from 200 ms to 5 s (BigQuery bills each
 * query), and fails when the deadline passes, naming what it waited for and the last error seen.
 */
export async function pollUntil<T>(deadline: number, what: string, check: () => Promise<T | undefined>): Promise<T> {
  let interval = 200;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof SmokeFailure) throw error;
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(interval, deadline - Date.now()))));
    interval = Math.min(interval * 2, 5000);
  }
  const seen = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new SmokeFailure(`timed out waiting for ${what}${seen}`);
}
