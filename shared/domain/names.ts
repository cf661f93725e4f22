import { PlatformError } from './errors.js';

const MODEL_NAME = /^[a-z][a-z0-9-]{0,62}$/;
const ALIAS_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

/**
 * Checks a model name. Names become GCS path segments, Firestore document ids and Cloud Run
 * service names, so only the characters all three accept: lowercase letters, digits and dashes.
 */
export function validateModelName(name: string): string {
  if (!MODEL_NAME.test(name)) {
    throw new PlatformError(
      'NAME.INVALID',
      `Model name ${JSON.stringify(name)} is invalid: use 1-63 lowercase letters, digits or dashes, starting with a letter (e.g. "churn-classifier").`,
    );
  }
  return name;
}

/** Checks an alias name such as staging, production or champion. */
export function validateAliasName(alias: string): string {
  if (!ALIAS_NAME.test(alias)) {
    throw new PlatformError(
      'NAME.INVALID',
      `Alias ${JSON.stringify(alias)} is invalid: use 1-63 lowercase letters, digits, dashes or underscores, starting with a letter (e.g. "production").`,
    );
  }
  return alias;
}

/** Parses a version number given as text; versions start at 1. */
export function parseVersionNumber(raw: string | number): number {
  const version = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(version) || version < 1) {
    throw new PlatformError('NAME.INVALID', `Version ${JSON.stringify(raw)} is invalid: expected a whole number from 1 up.`);
  }
  return version;
}
