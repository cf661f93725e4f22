import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { BundleReport } from '../deploy/build-functions.js';
import { type LocalAdapterLink, plugLocalAdapters } from './local-adapters.js';

/** The fields of a bundle's package.json that decide how its launcher starts it. */
export interface BundleManifest {
  name: string;
  main?: string;
  scripts?: { start?: string };
  dependencies?: Record<string, string>;
}

/** A bundle installed in a folder of its own, as Cloud Build installs it before the launcher starts it. */
export interface InstalledBundle {
  name: string;
  dir: string;
  manifest: BundleManifest;
}

/** Options of installBundle. */
export interface InstallBundleOptions {
  /** Project root: its node_modules holds the packages to install. */
  root: string;
  /** A folder outside the project, so nothing resolves from the project's own node_modules. */
  into: string;
  /** Where the bundle's left-out local adapters come from (see plugLocalAdapters). */
  link: LocalAdapterLink;
}

/**
 * Installs a built bundle the way Cloud Build would, offline: a copy of the bundle with a
 * node_modules of exactly the packages its package.json lists (linked to the versions installed
 * here, which are the ones it pins). A package the bundle imports but does not list fails to
 * resolve, as it would in the cloud. The local adapters it left out are plugged back in, since the
 * local profile needs them.
 */
export async function installBundle(bundle: BundleReport, { root, into, link }: InstallBundleOptions): Promise<InstalledBundle> {
  if (!relative(root, into).startsWith('..')) throw new Error(`Bundles must be installed outside the project (${into} is inside ${root}).`);
  const dir = join(into, bundle.name);
  cpSync(bundle.dir, dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as BundleManifest;
  linkPackages(dir, Object.keys(manifest.dependencies ?? {}), root);
  const adapterPackages = await plugLocalAdapters(dir, bundle.localOnlyChunks, { root, link });
  linkPackages(dir, adapterPackages, root);
  return { name: bundle.name, dir, manifest };
}

/** Links each package into `<dir>/node_modules`; Node then resolves the package's own dependencies from where it really is. */
export function linkPackages(dir: string, packages: string[], root: string): void {
  for (const pkg of packages) {
    const installed = join(root, 'node_modules', pkg);
    if (!existsSync(installed)) throw new Error(`${pkg} is listed by the bundle in ${dir} but not installed in ${root}: run npm ci.`);
    const link = join(dir, 'node_modules', pkg);
    if (existsSync(link)) continue;
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(installed, link, 'dir');
  }
}
