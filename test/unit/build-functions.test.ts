import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../infra/stack.js';
import { type BundleReport, buildFunctions, formatBundleTable } from '../../scripts/lib/deploy/build-functions.js';

const ROOT = resolve(import.meta.dirname, '../..');
// Inside the project, so the bundle resolves its external packages from node_modules as Cloud Build's install would.
const OUT = join(ROOT, `test-artifacts/bundles-${process.pid}`);
// A small event-driven function that never needs DuckDB or the local bucket.
const SPEC = FUNCTIONS.find((spec) => spec.name === 'promote-model') ?? FUNCTIONS.find((spec) => spec.trigger.type === 'topic')!;

describe(`bundling ${SPEC.name}`, () => {
  let bundle: BundleReport;
  const contents = () => bundle.files.map((file) => readFileSync(join(bundle.dir, file.path), 'utf8')).join('\n');

  beforeAll(async () => {
    [bundle] = (await buildFunctions({ functions: [SPEC], root: ROOT, outDir: OUT })) as [BundleReport];
  }, 60_000);
  afterAll(() => rmSync(OUT, { recursive: true, force: true }));

  it('writes index.js and a package.json whose dependencies Cloud Build installs', () => {
    const paths = bundle.files.map((file) => file.path);
    expect(paths).toEqual(expect.arrayContaining(['index.js', 'package.json']));
    const manifest = JSON.parse(readFileSync(join(bundle.dir, 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({ type: 'module', main: 'index.js', private: true });
    expect(manifest.dependencies['@google-cloud/functions-framework']).toMatch(/^\d+\.\d+\.\d+/);
    expect(manifest.dependencies).toEqual(bundle.dependencies);
  });

  it('leaves DuckDB out: not imported, not installed', () => {
    expect(bundle.dependencies).not.toHaveProperty('@duckdb/node-api');
    expect(contents()).not.toContain('@duckdb/');
    expect(contents()).not.toContain('DuckDBInstance');
  });

  it('compiles the project code in and keeps npm packages external', () => {
    const index = readFileSync(join(bundle.dir, 'index.js'), 'utf8');
    expect(index).toMatch(/from "@google-cloud\/functions-framework"/);
    expect(index).not.toMatch(/from "\.\.?\/.*\.ts"/);
  });

  it('loads on Node and registers its entry point with the Functions Framework', () => {
    const script = `const ff = await import('@google-cloud/functions-framework/testing');
      await import(${JSON.stringify(pathToFileURL(join(bundle.dir, 'index.js')).href)});
      process.stdout.write(typeof ff.getFunction(${JSON.stringify(SPEC.entryPoint)}));`;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { ...process.env, METADATA_SERVER_DETECTION: 'none' },
      encoding: 'utf8',
    });
    expect(output).toBe('function');
  });

  it('has the same content hash when rebuilt from the same sources', async () => {
    const [again] = await buildFunctions({ functions: [SPEC], root: ROOT, outDir: OUT });
    expect(again?.hash).toBe(bundle.hash);
  });

  it('reports its size in the bundle table', () => {
    expect(formatBundleTable([bundle])).toMatch(new RegExp(`${SPEC.name}\\s+\\d+\\s+[\\d.]+ KiB`));
  });
});
