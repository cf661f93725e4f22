import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../../../../infra/stack.js';
import { type BundleManifest, type InstalledBundle, installBundle } from '../../../../../scripts/lib/as-deployed/install-bundle.js';
import type { LocalAdapterLink } from '../../../../../scripts/lib/as-deployed/local-adapters.js';
import { type BundleReport, buildFunctions } from '../../../../../scripts/lib/deploy/build-functions.js';
import { revisionCommand } from '../../../../../shared/adapters/local-serving/local-serving-deployer.js';
import { ROOT } from '../../../../support/paths.js';

// What `npm start -- --as-deployed` runs: a bundle installed outside the project with only the packages
// its package.json lists, hosted from its main under its entry point, or started as its start script says.
const BUILT = join(ROOT, `test-artifacts/installed-${process.pid}`);
const INSTALLED = mkdtempSync(join(tmpdir(), 'installed-bundles-'));
const FUNCTION = FUNCTIONS.find((spec) => spec.name === 'promote-model')!;
const SERVE = FUNCTIONS.find((spec) => spec.server !== undefined)!;
/** The class each local-only backend exports, which its compiled file must define. */
const EXPORTED_CLASS: Record<string, string> = {
  'shared/adapters/duckdb/index.ts': 'DuckDbWarehouse',
  'shared/adapters/local-bucket/index.ts': 'LocalBucketArtifactStore',
  'shared/adapters/local-serving/index.ts': 'LocalServingDeployer',
};
const ENV = { PATH: process.env.PATH, METADATA_SERVER_DETECTION: 'none', MLOPS_LOG_LEVEL: 'silent' };

let bundles: Record<string, BundleReport>;
let copies = 0;

/** Installs a copy of a built bundle, its package.json changed by `edit` first. */
async function install(name: string, link: LocalAdapterLink, edit: (manifest: BundleManifest) => void = () => undefined): Promise<InstalledBundle> {
  const bundle = bundles[name]!;
  const dir = join(BUILT, `copy-${++copies}`, name);
  cpSync(bundle.dir, dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as BundleManifest;
  edit(manifest);
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
  return installBundle({ ...bundle, dir }, { root: ROOT, into: join(INSTALLED, `copy-${copies}`), link });
}

/** Hosts an installed function the way the runner does (under tsx, from the bundle's main), in a process of its own. */
function host(installed: InstalledBundle, entryPoint: string) {
  const moduleUrl = pathToFileURL(join(installed.dir, installed.manifest.main ?? 'index.js')).href;
  const script = `const { loadFunction } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'scripts/lib/function-code.ts')).href)});
    await loadFunction(${JSON.stringify(moduleUrl)}, ${JSON.stringify(entryPoint)});
    process.stdout.write('hosted ${entryPoint}');`;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, env: ENV, encoding: 'utf8', timeout: 30_000 });
}

/** Starts an installed serving bundle as a revision starts it (plain Node); without a model to serve it stops at that setting. */
/** Starts a serving revision from the bundle with a version pin it refuses: it must load everything, then stop at that setting. */
function start(installed: InstalledBundle) {
  const { args, cwd } = revisionCommand(ROOT, installed.dir);
  const env = { ...ENV, MLOPS_SERVE_MODEL: 'churn', MLOPS_SERVE_VERSION: 'latest' };
  return spawnSync(process.execPath, args, { cwd, env, encoding: 'utf8', timeout: 30_000 });
}

beforeAll(async () => {
  const built = await buildFunctions({ functions: [FUNCTION, SERVE], root: ROOT, outDir: join(BUILT, 'built') });
  bundles = Object.fromEntries(built.map((bundle) => [bundle.name, bundle]));
}, 60_000);
afterAll(() => {
  rmSync(BUILT, { recursive: true, force: true });
  rmSync(INSTALLED, { recursive: true, force: true });
});

describe(`an installed ${FUNCTION.name} bundle`, () => {
  it('installs only the packages its package.json lists, and hosts its entry point', async () => {
    const installed = await install(FUNCTION.name, 'this-process');
    expect(readFileSync(join(installed.dir, 'node_modules/zod/package.json'), 'utf8')).toContain('"name": "zod"');
    const hosted = host(installed, FUNCTION.entryPoint);
    expect(hosted.stderr).toBe('');
    expect(hosted.stdout).toBe(`hosted ${FUNCTION.entryPoint}`);
  });

  it('fails to start when its package.json leaves out a package it imports', async () => {
    const installed = await install(FUNCTION.name, 'this-process', (manifest) => delete manifest.dependencies!.zod);
    const hosted = host(installed, FUNCTION.entryPoint);
    expect(hosted.status).not.toBe(0);
    expect(hosted.stderr).toContain(`Cannot find package 'zod' imported from ${installed.dir}`);
  });

  it('fails to start under an entry point it does not register', async () => {
    const installed = await install(FUNCTION.name, 'this-process');
    const hosted = host(installed, `${FUNCTION.entryPoint}s`);
    expect(hosted.status).not.toBe(0);
    expect(hosted.stderr).toContain(`registers no function named "${FUNCTION.entryPoint}s"`);
  });

  it('fails to start when its main names a file the bundle does not have', async () => {
    const installed = await install(FUNCTION.name, 'this-process', (manifest) => (manifest.main = 'main.js'));
    const hosted = host(installed, FUNCTION.entryPoint);
    expect(hosted.status).not.toBe(0);
    expect(hosted.stderr).toMatch(/Could not load .*main\.js: Cannot find module/);
  });
});

describe(`an installed ${SERVE.name} bundle, started as a serving revision`, () => {
  it('starts its server with plain Node, its local adapters compiled beside it, and loads everything up to its first setting', async () => {
    const installed = await install(SERVE.name, 'own-process');
    const chunks = bundles[SERVE.name]!.localOnlyChunks;
    const plugged = chunks.map(({ chunk }) => /export \* from "(\.\.\/local-adapters\/[^"]+)"/.exec(readFileSync(join(installed.dir, chunk), 'utf8'))?.[1]);
    // One compiled file per backend: every backend's entry is an index.ts, and none may overwrite another's.
    expect(new Set(plugged).size).toBe(chunks.length);
    for (const [index, { chunk, adapter }] of chunks.entries()) {
      const compiled = readFileSync(join(installed.dir, dirname(chunk), plugged[index]!), 'utf8');
      expect(compiled, `${chunk} plugs in ${adapter}`).toMatch(new RegExp(`(class ${EXPORTED_CLASS[adapter]}\\b|var ${EXPORTED_CLASS[adapter]} = class)`));
    }
    const started = start(installed);
    expect(started.status).toBe(1);
    expect(started.stderr).toContain('MLOPS_SERVE_VERSION="latest" is invalid');
  });

  it('fails to start when its package.json leaves out the HTTP server package', async () => {
    const installed = await install(SERVE.name, 'own-process', (manifest) => delete manifest.dependencies!['@hono/node-server']);
    const started = start(installed);
    expect(started.status).toBe(1);
    expect(started.stderr).toContain("Cannot find package '@hono/node-server'");
  });

  it('fails to start when its start script names a file the bundle does not have', async () => {
    const installed = await install(SERVE.name, 'own-process', (manifest) => (manifest.scripts = { start: 'node serve.js' }));
    const started = start(installed);
    expect(started.status).toBe(1);
    expect(started.stderr).toContain('Cannot find module');
  });

  it('refuses a start script other than node <file>', async () => {
    const installed = await install(SERVE.name, 'own-process', (manifest) => (manifest.scripts = { start: 'tsx server.ts' }));
    expect(() => revisionCommand(ROOT, installed.dir)).toThrow('starts with "tsx server.ts"; locally only "node <file>" is supported');
  });
});
