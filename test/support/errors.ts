import { isPlatformError, type PlatformError } from '../../shared/domain/errors.js';

/** Runs `run` expecting a PlatformError and returns it; fails the test when it throws nothing or something else. */
export function platformError(run: () => unknown): PlatformError {
  try {
    run();
  } catch (error) {
    if (isPlatformError(error)) return error;
    throw error;
  }
  throw new Error('expected a PlatformError, nothing was thrown');
}
