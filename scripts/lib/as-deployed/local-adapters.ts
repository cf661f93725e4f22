import { writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { BUNDLE_SETTINGS, importedPackages, type LocalOnlyChunk } from '../deploy/build-functions.js';

/**
 * Where a bundle's left-out local adapters come from. `this-process`: the runner's own modules, for
 * bundles the runner hosts in its process, so every function shares its one DuckDB handle (DuckDB lets
 * one process open the file). `own-process`: compiled beside the bundle, for one started with plain
 * Node (a serving revision).
 */
export type LocalAdapterLink = 'this-process' | 'own-process';

/** Options of plugLocalAdapters. */
export interface PlugOptions {
  root: string;
  link: LocalAdapterLink;
}

/**
 * Replaces each chunk that stands in for a left-out local adapter with a re-export of that adapter,
 * leaving every other file of the bundle as it ships. Resolves with the npm packages the plugged
 * adapters import (to install beside the bundle's own).
 */
export async function plugLocalAdapters(dir: string, chunks: LocalOnlyChunk[], { root, link }: PlugOptions): Promise<string[]> {
  if (chunks.length === 0) return [];
  const compiled = link === 'own-process' ? await compileAdapters(dir, chunks, root) : undefined;
  for (const { chunk, adapter } of chunks) {
    const target = compiled ? relativeSpecifier(dirname(join(dir, chunk)), compiled.files.get(adapter)!) : pathToFileURL(join(root, adapter)).href;
    writeFileSync(join(dir, chunk), `// ${adapter}, plugged in for the local profile\nexport * from ${JSON.stringify(target)};\n`);
  }
  return compiled?.packages ?? [];
}

/** Compiles the adapters with the bundles' own settings into `<dir>/local-adapters/`. */
async function compileAdapters(dir: string, chunks: LocalOnlyChunk[], root: string): Promise<{ files: Map<string, string>; packages: string[] }> {
  const outdir = join(dir, 'local-adapters');
  const names = new Map(chunks.map(({ adapter }) => [adapter, entryName(adapter)]));
  const result = await build({
    ...BUNDLE_SETTINGS,
    absWorkingDir: root,
    entryPoints: Object.fromEntries([...names].map(([adapter, name]) => [name, join(root, adapter)])),
    outdir,
  });
  const files = new Map([...names].map(([adapter, name]) => [adapter, join(outdir, `${name}.js`)]));
  return { files, packages: importedPackages(result.metafile) };
}

/** One output file per backend: `shared/adapters/duckdb/index.ts` compiles to `duckdb.js` (every backend's entry is an index.ts). */
function entryName(adapter: string): string {
  return adapter
    .replace(/^shared\/adapters\//, '')
    .replace(/(\/index)?\.ts$/, '')
    .replaceAll('/', '-');
}

function relativeSpecifier(fromDir: string, file: string): string {
  const path = relative(fromDir, file);
  return path.startsWith('.') ? path : `./${path}`;
}
