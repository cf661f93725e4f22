import { resolve } from 'node:path';

/** The project's root folder, wherever the test that asks sits in test/. */
export const ROOT = resolve(import.meta.dirname, '../..');

/** test/fixtures: committed models and reference values. */
export const FIXTURES = resolve(ROOT, 'test/fixtures');
