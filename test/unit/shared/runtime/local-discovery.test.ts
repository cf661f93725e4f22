import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../../../shared/processes/processes.js';
import { discoverLocalPlatform, requireLocalPlatform } from '../../../../shared/runtime/local-discovery.js';

const folder = mkdtempSync(join(tmpdir(), 'discovery-'));
const firebaseJson = join(folder, 'firebase.json');
writeFileSync(firebaseJson, JSON.stringify({ emulators: { pubsub: { port: 9185 }, firestore: { port: 9180 }, functions: { port: 9101 } } }));

function dataDir(endpoints?: unknown): string {
  const dir = mkdtempSync(join(folder, 'data-'));
  if (endpoints) writeFileSync(join(dir, 'endpoints.json'), JSON.stringify(endpoints));
  return dir;
}

describe('finding the local platform, shared by the CLI and the SDK', () => {
  it("falls back to firebase.json's ports, and fills only what is unset", () => {
    const env: NodeJS.ProcessEnv = { MLOPS_DATA_DIR: dataDir() };
    expect(discoverLocalPlatform(env, { firebaseJson })).toEqual({ pubsubHost: '127.0.0.1:9185', firestoreHost: '127.0.0.1:9180', source: firebaseJson });
    expect(env).toMatchObject({ PUBSUB_EMULATOR_HOST: '127.0.0.1:9185', FIRESTORE_EMULATOR_HOST: '127.0.0.1:9180', METADATA_SERVER_DETECTION: 'none' });
    expect(env.GOOGLE_CLOUD_PROJECT).toBeUndefined();
  });

  it('prefers the endpoints.json a running npm start wrote, with its project', () => {
    const dir = dataDir({ functions: {}, projectId: 'p-local', emulators: { pubsub: '127.0.0.1:7001', firestore: '127.0.0.1:7002' } });
    const env: NodeJS.ProcessEnv = { MLOPS_DATA_DIR: dir };
    expect(discoverLocalPlatform(env, { firebaseJson })).toMatchObject({
      pubsubHost: '127.0.0.1:7001',
      firestoreHost: '127.0.0.1:7002',
      source: join(dir, 'endpoints.json'),
    });
    expect(env.GOOGLE_CLOUD_PROJECT).toBe('p-local');
  });

  it('lets variables already set win, reads .mlops-data by default, and finds nothing on the gcp profile', () => {
    const set: NodeJS.ProcessEnv = { PUBSUB_EMULATOR_HOST: 'h:1', FIRESTORE_EMULATOR_HOST: 'h:2', GOOGLE_CLOUD_PROJECT: 'mine', MLOPS_DATA_DIR: dataDir() };
    expect(discoverLocalPlatform(set, { firebaseJson })).toMatchObject({ pubsubHost: 'h:1', firestoreHost: 'h:2' });
    expect(set.GOOGLE_CLOUD_PROJECT).toBe('mine');
    const gcp: NodeJS.ProcessEnv = { MLOPS_PROFILE: 'gcp' };
    expect(discoverLocalPlatform(gcp, { firebaseJson })).toBeUndefined();
    expect(gcp).toEqual({ MLOPS_PROFILE: 'gcp' });
    const cwd = process.cwd();
    try {
      const project = mkdtempSync(join(folder, 'project-'));
      mkdirSync(join(project, '.mlops-data'));
      writeFileSync(join(project, '.mlops-data', 'endpoints.json'), JSON.stringify({ emulators: { pubsub: '127.0.0.1:7101', firestore: '127.0.0.1:7102' } }));
      process.chdir(project);
      expect(discoverLocalPlatform({}, { firebaseJson })).toMatchObject({ pubsubHost: '127.0.0.1:7101' });
    } finally {
      process.chdir(cwd);
    }
  });

  it('says in one line what to start or set when nothing answers, and is quiet when both emulators do', async () => {
    const closed = `127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const failure = await requireLocalPlatform({ pubsubHost: closed, firestoreHost: closed, source: 'firebase.json' }).catch((error: Error) => error);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(failure).toMatchObject({ code: 'CONFIG.INVALID' });
    const message = (failure as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toMatch(/^No local platform answers at .*Firestore emulator.*Pub\/Sub emulator.*found through firebase\.json: run "npm start"/);
    expect(message).toMatch(/set PUBSUB_EMULATOR_HOST and FIRESTORE_EMULATOR_HOST/);

    const server = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const open = `127.0.0.1:${(server.address() as { port: number }).port}`;
    await expect(requireLocalPlatform({ pubsubHost: open, firestoreHost: open, source: 'test' })).resolves.toBeUndefined();
    server.close();
  });
});
