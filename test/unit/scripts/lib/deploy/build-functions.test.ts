import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../../../../infra/stack.js';
import { type BundleReport, buildFunctions, formatBundleTable, packagesLoadedAtStart } from '../../../../../scripts/lib/deploy/build-functions.js';
import { freePort } from '../../../../../shared/processes/processes.js';
import { eventually } from '../../../../support/environment.js';
import { ROOT } from '../../../../support/paths.js';

// Inside the project, so the bundle resolves its external packages from node_modules as Cloud Build's install would.
const OUT = join(ROOT, `test-artifacts/bundles-${process.pid}`);
// A small event-driven function that never needs DuckDB or the local bucket.
const SPEC = FUNCTIONS.find((spec) => spec.name === 'promote-model') ?? FUNCTIONS.find((spec) => spec.trigger.type === 'topic')!;

afterAll(() => rmSync(OUT, { recursive: true, force: true }));

describe(`bundling ${SPEC.name}`, () => {
  let bundle: BundleReport;
  const contents = () => bundle.files.map((file) => readFileSync(join(bundle.dir, file.path), 'utf8')).join('\n');

  beforeAll(async () => {
    [bundle] = (await buildFunctions({ functions: [SPEC], root: ROOT, outDir: OUT })) as [BundleReport];
  }, 60_000);

  it('writes index.js and a package.json whose dependencies Cloud Build installs', () => {
    const paths = bundle.files.map((file) => file.path);
    expect(paths).toEqual(expect.arrayContaining(['index.js', 'package.json']));
    const manifest = JSON.parse(readFileSync(join(bundle.dir, 'package.json'), 'utf8'));
    expect(manifest).toMatchObject({ type: 'module', main: 'index.js', private: true });
    // No start script: the Functions Framework starts it from main with --target.
    expect(manifest).not.toHaveProperty('scripts');
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

  it('reports each chunk that stands in for a left-out local adapter, and that chunk only throws', () => {
    expect(bundle.localOnlyChunks.map((chunk) => chunk.adapter).sort()).toEqual([
      'shared/adapters/duckdb/index.ts',
      'shared/adapters/local-bucket/index.ts',
      'shared/adapters/local-serving/index.ts',
    ]);
    for (const { chunk, adapter } of bundle.localOnlyChunks) {
      expect(bundle.files.map((file) => file.path)).toContain(chunk);
      expect(readFileSync(join(bundle.dir, chunk), 'utf8')).toContain(`throw new Error("${adapter.replace(/\.ts$/, '.js')} is a local-only adapter`);
    }
  });

  it('reports its size in the bundle table', () => {
    expect(formatBundleTable([bundle])).toMatch(new RegExp(`${SPEC.name}\\s+\\d+\\s+[\\d.]+ KiB`));
  });
});

// The serving function also ships its direct @hono/node-server entry, which Cloud Run starts.
const SERVE = FUNCTIONS.find((spec) => spec.server !== undefined)!;

describe(`bundling ${SERVE.name} with its server entry`, () => {
  let bundle: BundleReport;
  const manifest = () => JSON.parse(readFileSync(join(bundle.dir, 'package.json'), 'utf8'));

  beforeAll(async () => {
    [bundle] = (await buildFunctions({ functions: [SERVE], root: ROOT, outDir: OUT })) as [BundleReport];
  }, 60_000);

  it('writes server.js beside index.js, sharing their chunks', () => {
    const paths = bundle.files.map((file) => file.path);
    expect(paths).toEqual(expect.arrayContaining(['index.js', 'server.js', 'package.json']));
    const imports = (file: string) => [...readFileSync(join(bundle.dir, file), 'utf8').matchAll(/from "\.\/(chunks\/[^"]+)"/g)].map((match) => match[1]);
    expect(imports('server.js').filter((chunk) => imports('index.js').includes(chunk)).length).toBeGreaterThan(0);
  });

  it('keeps the Google client libraries off the cold start: server.js loads them only when first used', () => {
    const atStart = packagesLoadedAtStart(bundle.dir, 'server.js');
    expect(atStart).toEqual(expect.arrayContaining(['hono']));
    for (const library of ['@google-cloud/firestore', '@google-cloud/pubsub', '@google-cloud/storage', '@grpc/grpc-js']) expect(atStart).not.toContain(library);
    // Still shipped: the registry's fallback and the prediction log need them later.
    expect(bundle.dependencies).toHaveProperty('@google-cloud/firestore');
    expect(bundle.dependencies).toHaveProperty('@google-cloud/pubsub');
  });

  it('tells the buildpack to start the direct server: main server.js, start script node server.js', () => {
    expect(manifest()).toMatchObject({ main: 'server.js', scripts: { start: 'node server.js' } });
    expect(manifest().dependencies['@hono/node-server']).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('starts on plain Node as the start script says and, with no model pinned (the base service), listens idle', async () => {
    const [command, entry] = manifest().scripts.start.split(' ');
    expect(command).toBe('node');
    const port = await freePort();
    const child = spawn(process.execPath, [entry!], {
      cwd: bundle.dir,
      env: { PATH: process.env.PATH, METADATA_SERVER_DETECTION: 'none', MLOPS_LOG_LEVEL: 'silent', PORT: String(port), HOST: '127.0.0.1' },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const health = await eventually(() => fetch(`http://127.0.0.1:${port}/health`).then((response) => response.json()), {
        timeoutMs: 20_000,
        what: 'the base service listening',
      });
      expect(health).toEqual({ status: 'idle', model: null });
      const predict = await fetch(`http://127.0.0.1:${port}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(predict.status).toBe(503);
      expect(await predict.json()).toMatchObject({ code: 'SERVING.NO_MODEL', error: expect.stringMatching(/serve-<model>/) });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 30_000);
});
