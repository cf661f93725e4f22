import type { SampleSource } from '../domain/drift/drift-queries.js';
import { monitoringDialect } from '../domain/drift/sql-dialect.js';
import { PlatformError } from '../domain/errors.js';
import { sampleQuery } from '../domain/explain/attribution-drift.js';
import type { ModelVersion } from '../domain/registry.js';
import type { ArtifactStore } from '../ports/artifact-store.port.js';
import type { Warehouse } from '../ports/warehouse.port.js';
import type { VersionReference } from './version-drift.js';

/** Rows of a version's reference kept as the background its explanations start from. */
export const BACKGROUND_ROWS = 100;

/** A feature object, as the `features` JSON of a prediction or an offline_features row. */
export type FeatureRow = Record<string, unknown>;

/** The stored background of a version: which reference it was drawn from, its rows and when. */
export interface StoredBackground {
  /** The reference's `describe` (`dataset:<id>` or `window:<start>/<end>`). */
  reference: string;
  rows: FeatureRow[];
  createdAt: string;
}

/** Where a version's background lives in the artifact bucket; not `.onnx`, so registration ignores it. */
export function backgroundObject(model: string, version: number): string {
  return `explanations/${model}/v${version}/background.json`;
}

/** A deterministic sample of up to `limit` feature objects of a source ({@link sampleQuery}); documents that are not JSON objects are left out. */
export async function sampleFeatureRows(warehouse: Warehouse, source: SampleSource, limit: number): Promise<FeatureRow[]> {
  const query = sampleQuery(monitoringDialect(warehouse.dialect), source, limit);
  const rows = await warehouse.query<{ doc: unknown }>(query.sql, query.params);
  return rows.map((row) => row.doc).filter(isFeatureRow);
}

/**
 * Draws the background of a version from its reference inputs and stores it, so /explain can start
 * from it without querying the warehouse. Idempotent: nothing is written when the stored background
 * has the same reference and rows. Undefined while the version has no reference inputs (or they are empty).
 */
export async function writeBackground(
  warehouse: Warehouse,
  artifacts: ArtifactStore,
  version: Pick<ModelVersion, 'model' | 'version'>,
  reference: VersionReference,
): Promise<{ background: StoredBackground; written: boolean } | undefined> {
  if (!reference.inputs) return undefined;
  const rows = await sampleFeatureRows(warehouse, reference.inputs, BACKGROUND_ROWS);
  if (rows.length === 0) return undefined;
  const name = backgroundObject(version.model, version.version);
  const stored = await storedBackground(artifacts, name).catch(() => undefined);
  if (stored && stored.reference === reference.describe && JSON.stringify(stored.rows) === JSON.stringify(rows)) return { background: stored, written: false };
  const background: StoredBackground = { reference: reference.describe, rows, createdAt: new Date().toISOString() };
  await artifacts.put(name, new TextEncoder().encode(JSON.stringify(background)), { contentType: 'application/json' });
  return { background, written: true };
}

/** The stored background rows of a version, or undefined when none was written yet; a corrupt file is an ARTIFACT.INTEGRITY error. */
export async function readBackground(artifacts: ArtifactStore, model: string, version: number): Promise<FeatureRow[] | undefined> {
  return (await storedBackground(artifacts, backgroundObject(model, version)))?.rows;
}

async function storedBackground(artifacts: ArtifactStore, name: string): Promise<StoredBackground | undefined> {
  if (!(await artifacts.stat(name))) return undefined;
  const text = new TextDecoder().decode(await artifacts.get(name));
  const parsed = parseJson(text);
  if (!isStoredBackground(parsed))
    throw new PlatformError(
      'ARTIFACT.INTEGRITY',
      `gs://${artifacts.bucket}/${name} is not a background ({reference, rows, createdAt}); delete it and run \`mlops drift run <model>\` to write it again.`,
    );
  return parsed;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isFeatureRow(value: unknown): value is FeatureRow {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStoredBackground(value: unknown): value is StoredBackground {
  if (!isFeatureRow(value)) return false;
  const { reference, rows, createdAt } = value;
  return typeof reference === 'string' && typeof createdAt === 'string' && Array.isArray(rows) && rows.every(isFeatureRow);
}
