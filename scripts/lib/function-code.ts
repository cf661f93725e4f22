import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FunctionSpec } from '../../infra/stack.js';
import { ENV } from '../../shared/config/env.js';
import { stopChildProcesses } from './as-deployed/child-processes.js';
import { type InstalledBundle, installBundle } from './as-deployed/install-bundle.js';
import { buildFunctions } from './deploy/build-functions.js';

/** What the local runner loads each function and serving revision from. */
export interface FunctionCode {
  /** One line for the start-up output: what runs. */
  description: string;
  /** URL of the module that registers `spec`'s entry point with the Functions Framework. */
  moduleUrl(spec: FunctionSpec): string;
  /** Variables for this process and every serving revision, so revisions start from the same code. */
  env: Record<string, string>;
  /** Stops serving revisions still running from this code that a hosted bundle's own composition root started (out of this process's reach). */
  stopRevisions(): Promise<void>;
  /** Removes whatever was installed for this run. */
  remove(): Promise<void>;
}

const PROJECT_ROOT = join(import.meta.dirname, '../..');

/** The TypeScript sources, run through tsx: what `npm start` runs by default. */
export function sourceCode(): FunctionCode {
  return {
    description: 'the TypeScript sources (tsx)',
    moduleUrl: (spec) => pathToFileURL(join(PROJECT_ROOT, spec.source)).href,
    env: {},
    stopRevisions: async () => undefined,
    remove: async () => undefined,
  };
}

/** Options of deployedCode. */
export interface DeployedCodeOptions {
  /** The functions to host; serving bundles (those with a server entry) are added. */
  functions: FunctionSpec[];
  /** Every function of the stack, to find the serving bundles in. */
  stack: FunctionSpec[];
  /** Where the bundles are built; dist/functions, as the deploy builds them, by default. */
  outDir?: string;
  root?: string;
}

/**
 * The deployable bundles (`npm start -- --as-deployed`): built as `npm run deploy` builds them, then
 * installed outside the project as Cloud Build installs them. Functions are hosted from each bundle's
 * `main` under its entry point (as gen2's `functions-framework --target` does); serving revisions start
 * the serving bundle with plain Node, as the buildpack starts it on Cloud Run.
 */
export async function deployedCode({
  functions,
  stack,
  root = PROJECT_ROOT,
  outDir = join(root, 'dist/functions'),
}: DeployedCodeOptions): Promise<FunctionCode> {
  const specs = [...functions, ...stack.filter((spec) => spec.server && !functions.includes(spec))];
  const bundles = await buildFunctions({ functions: specs, root, outDir });
  const into = mkdtempSync(join(tmpdir(), 'mlops-bundles-'));
  const remove = async () => rmSync(into, { recursive: true, force: true });
  try {
    const installed = new Map<string, InstalledBundle>();
    for (const bundle of bundles) {
      // A bundle started as a process of its own (the serving revision) cannot share this process's adapters.
      const link = specs.find((spec) => spec.name === bundle.name)?.server ? 'own-process' : 'this-process';
      installed.set(bundle.name, await installBundle(bundle, { root, into, link }));
    }
    const serving = specs.find((spec) => spec.server && installed.has(spec.name));
    return {
      description: `the deployable bundles of ${relative(root, outDir) || outDir}, installed in ${into} as Cloud Build would`,
      moduleUrl: (spec) => pathToFileURL(mainOf(installedNamed(installed, spec.name))).href,
      env: serving ? { [ENV.servingBundle]: installedNamed(installed, serving.name).dir } : {},
      stopRevisions: () => stopChildProcesses(into),
      remove,
    };
  } catch (error) {
    await remove();
    throw error;
  }
}

/**
 * Loads a function's module and builds its Functions Framework server for `entryPoint`, as
 * `functions-framework --target=<entryPoint>` does; fails naming the module when either is wrong.
 */
export async function loadFunction(moduleUrl: string, entryPoint: string): Promise<Server> {
  const { getFunction, getTestServer } = await import('@google-cloud/functions-framework/testing');
  await import(moduleUrl).catch((error: Error) => {
    throw new Error(`Could not load ${moduleUrl}: ${error.message}`);
  });
  if (!getFunction(entryPoint)) throw new Error(`${moduleUrl} registers no function named "${entryPoint}" with the Functions Framework.`);
  return getTestServer(entryPoint);
}

/** The file the Functions Framework loads from a folder: package.json's main, else index.js. */
function mainOf(bundle: InstalledBundle): string {
  return join(bundle.dir, bundle.manifest.main ?? 'index.js');
}

function installedNamed(installed: Map<string, InstalledBundle>, name: string): InstalledBundle {
  const bundle = installed.get(name);
  if (!bundle) throw new Error(`No bundle was built for ${name}.`);
  return bundle;
}
