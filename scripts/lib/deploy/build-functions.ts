import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import type { FunctionSpec } from '../../../infra/stack.js';
import { ENV } from '../../../shared/config/env.js';

/** One function's deployable bundle. */
export interface BundleReport {
  name: string;
  dir: string;
  /** Every file written, relative to `dir`, with its size. */
  files: { path: string; bytes: number }[];
  bytes: number;
  /** npm packages the bundle imports, with the version installed here; Cloud Build installs them. */
  dependencies: Record<string, string>;
  /** Content hash of the bundle: a deploy skips a function whose hash and settings are unchanged. */
  hash: string;
  /** Chunks that stand in for a left-out local-only adapter (relative to `dir`), with that adapter's source (relative to the root). */
  localOnlyChunks: LocalOnlyChunk[];
}

/** A chunk of a bundle that only throws, where the local profile would load a local-only adapter. */
export interface LocalOnlyChunk {
  chunk: string;
  adapter: string;
}

/** Options of buildFunctions. */
export interface BuildFunctionsOptions {
  functions: FunctionSpec[];
  /** Project root: where package.json, node_modules and the function sources are. */
  root?: string;
  /** Where bundles go, one folder per function; `dist/functions` by default. */
  outDir?: string;
}

/** The backends that only run on this machine: the local profile's stand-ins for BigQuery, GCS and Cloud Run. */
const LOCAL_ONLY_BACKEND = /\/adapters\/(duckdb|local-bucket|local-serving)\//;

/**
 * Leaves local-only adapters (DuckDB, local bucket, local deployer) out of cloud bundles. The
 * composition root imports them lazily and only for the local profile, so a function on Google Cloud
 * never loads them; a static import of one is kept, since that function really needs it. Each left-out
 * adapter becomes a chunk that throws; `leftOut` records which adapter each stand-in replaces.
 */
function leaveOutLocalAdapters(leftOut: Map<string, string>): Plugin {
  return {
    name: 'leave-out-local-adapters',
    setup(build) {
      const root = build.initialOptions.absWorkingDir ?? '.';
      build.onResolve({ filter: LOCAL_ONLY_BACKEND }, (args) => {
        if (args.kind !== 'dynamic-import') return undefined;
        const adapter = relative(root, resolve(args.resolveDir, args.path));
        const known = [...leftOut].find(([, path]) => path === adapter)?.[0];
        const stub = known ?? `local-only-${leftOut.size + 1}`;
        leftOut.set(stub, adapter);
        return { path: stub, namespace: 'local-only', pluginData: adapter };
      });
      build.onLoad({ filter: /.*/, namespace: 'local-only' }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`${args.pluginData as string} is a local-only adapter, left out of cloud bundles (${ENV.profile}=gcp selects the Google Cloud backends).`)});`,
        loader: 'js',
      }));
    },
  };
}

/** The esbuild settings of every deployable bundle (and of whatever must load beside one, such as the local adapters). */
export const BUNDLE_SETTINGS = {
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  chunkNames: 'chunks/[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
} as const satisfies BuildOptions;

/**
 * Bundles each function with esbuild (node, ESM, node20) into `<outDir>/<name>/`: the project's own
 * code compiled and tree-shaken, every npm package left external and listed in the bundle's
 * package.json so Cloud Build installs it. Native packages (onnxruntime-node, @duckdb/node-api) must
 * be installed that way, the Functions Framework must be the launcher's own copy, and the Google
 * client libraries read files from their install folder at run time, so none of them can be inlined.
 * Lazily imported adapters become separate chunks, loaded only when used.
 */
export async function buildFunctions({
  functions,
  root = process.cwd(),
  outDir = join(root, 'dist/functions'),
}: BuildFunctionsOptions): Promise<BundleReport[]> {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: string; dependencies?: Record<string, string> };
  const reports: BundleReport[] = [];
  for (const spec of functions) {
    const dir = join(outDir, spec.name);
    rmSync(dir, { recursive: true, force: true });
    const leftOut = new Map<string, string>();
    const result = await build({
      ...BUNDLE_SETTINGS,
      absWorkingDir: root,
      // The direct server entry shares the function's chunks: one upload, two ways to start it.
      entryPoints: { index: join(root, spec.source), ...(spec.server && { server: join(root, spec.server) }) },
      outdir: dir,
      plugins: [leaveOutLocalAdapters(leftOut)],
    });
    const dependencies = dependenciesOf(result.metafile, manifest.dependencies ?? {}, root, spec.name);
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify(bundleManifest(spec, manifest.version, dependencies), null, 2)}\n`);
    // onnxruntime-node would otherwise download CUDA libraries at install; the CPU build ships in the package.
    if ('onnxruntime-node' in dependencies) writeFileSync(join(dir, '.npmrc'), 'onnxruntime-node-install=skip\n');
    reports.push({ ...report(spec.name, dir, dependencies), localOnlyChunks: localOnlyChunks(result.metafile, leftOut, root, dir) });
  }
  return reports;
}

/** The bundle's package.json. With a server entry, Google's Node.js buildpack runs its start script: the direct server. */
function bundleManifest(spec: FunctionSpec, version: string | undefined, dependencies: Record<string, string>): Record<string, unknown> {
  const start = spec.server ? { main: 'server.js', scripts: { start: 'node server.js' } } : { main: 'index.js' };
  return { name: `mlops-${spec.name}`, version: version ?? '0.0.0', private: true, type: 'module', ...start, dependencies };
}

/** Which output chunk stands in for which left-out adapter (esbuild names the stand-in as its entry point). */
function localOnlyChunks(metafile: Metafile, leftOut: Map<string, string>, root: string, dir: string): LocalOnlyChunk[] {
  return Object.entries(metafile.outputs).flatMap(([output, { entryPoint }]) => {
    const adapter = entryPoint?.startsWith('local-only:') ? leftOut.get(entryPoint.slice('local-only:'.length)) : undefined;
    return adapter ? [{ chunk: relative(dir, join(root, output)), adapter: adapter.replace(/\.js$/, '.ts') }] : [];
  });
}

const BUILTINS = new Set(builtinModules);

/** The package a bare import names: `@scope/name/sub` → `@scope/name`, `hono/cors` → `hono`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** The npm packages a build's outputs import, sorted; Node's built-in modules aside. */
export function importedPackages(metafile: Metafile): string[] {
  const packages = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const imported of output.imports) {
      if (!imported.external || imported.path.startsWith('node:') || BUILTINS.has(imported.path)) continue;
      packages.add(packageOf(imported.path));
    }
  }
  return [...packages].sort();
}

/**
 * The npm packages a bundle's entry `file` loads before its own code runs: those its static imports
 * reach, through its chunks. A package only dynamically imported loads when first used, so it is not
 * on a cold start's path until then (the serving entry keeps the Google client libraries off it).
 */
export function packagesLoadedAtStart(dir: string, file: string, seen = new Set<string>(), packages = new Set<string>()): string[] {
  seen.add(file);
  // esbuild writes each static import at the start of a line; dynamic ones are `import(...)` expressions.
  for (const [, specifier] of readFileSync(join(dir, file), 'utf8').matchAll(/^import\s(?:[^;]*?\sfrom\s*)?"([^"]+)"/gm)) {
    if (specifier!.startsWith('.')) {
      const next = join(dirname(file), specifier!);
      if (!seen.has(next)) packagesLoadedAtStart(dir, next, seen, packages);
    } else if (!specifier!.startsWith('node:') && !BUILTINS.has(specifier!)) packages.add(packageOf(specifier!));
  }
  return [...packages].sort();
}

function dependenciesOf(metafile: Metafile, declared: Record<string, string>, root: string, name: string): Record<string, string> {
  const dependencies: Record<string, string> = {};
  for (const pkg of importedPackages(metafile)) {
    if (!(pkg in declared)) throw new Error(`${name} imports "${pkg}", which package.json does not list in dependencies.`);
    dependencies[pkg] = installedVersion(root, pkg) ?? declared[pkg]!;
  }
  return dependencies;
}

/** The exact version installed here, so the cloud runs what the tests ran. */
function installedVersion(root: string, pkg: string): string | undefined {
  const file = join(root, 'node_modules', pkg, 'package.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version : undefined;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((path) => statSync(join(dir, path)).isFile())
    .sort();
}

function report(name: string, dir: string, dependencies: Record<string, string>): Omit<BundleReport, 'localOnlyChunks'> {
  const hash = createHash('sha256');
  const files = filesUnder(dir).map((path) => {
    const content = readFileSync(join(dir, path));
    hash.update(`${path}\0`).update(content);
    return { path, bytes: content.length };
  });
  return { name, dir, files, bytes: files.reduce((sum, file) => sum + file.bytes, 0), dependencies, hash: hash.digest('hex') };
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/** The bundle sizes as a table: files, total size, size of index.js, and the packages Cloud Build installs. */
export function formatBundleTable(reports: BundleReport[]): string {
  const rows = reports.map((bundle) => [
    bundle.name,
    String(bundle.files.length),
    kib(bundle.bytes),
    kib(bundle.files.find((file) => file.path === 'index.js')?.bytes ?? 0),
    Object.keys(bundle.dependencies).join(', '),
  ]);
  const head = ['function', 'files', 'bundle', 'index.js', 'installed by Cloud Build'];
  const widths = head.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === 4 ? cell : cell.padEnd(widths[column]!))).join('  ');
  return [line(head), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}
