import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirestoreOnlineReader } from '../../../../../shared/adapters/firestore-online/index.js';

// A stand-in for Firestore's REST API on loopback that fails every batchGet, then one that never answers.
let failing: Server;
let silent: Server;
const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const listen = (server: Server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));

beforeAll(async () => {
  failing = createServer((_req, res) => res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"code":500}}'));
  silent = createServer(() => undefined);
  await Promise.all([listen(failing), listen(silent)]);
});
afterAll(() => {
  failing.closeAllConnections();
  silent.closeAllConnections();
  failing.close();
  silent.close();
});

describe('the serving reader of online features', () => {
  const reader = (apiEndpoint: string, timeoutMs?: number) =>
    new FirestoreOnlineReader({ projectId: 'demo', apiEndpoint, accessToken: async () => 't', timeoutMs });

  it('fails a lookup the store answers with an error as the transient FEATURES.LOOKUP_FAILED, naming the answer', async () => {
    await expect(reader(urlOf(failing)).read('customers', ['c-1'])).rejects.toMatchObject({
      code: 'FEATURES.LOOKUP_FAILED',
      permanent: false,
      message: expect.stringContaining('500'),
    });
  });

  it('fails a lookup the store does not answer within its timeout the same way', async () => {
    await expect(reader(urlOf(silent), 200).read('customers', ['c-1'])).rejects.toMatchObject({
      code: 'FEATURES.LOOKUP_FAILED',
      message: expect.stringContaining('no answer within 200 ms'),
    });
  });

  it('reads nothing, and asks nothing, for no entities', async () => {
    expect((await reader(urlOf(failing)).read('customers', [])).size).toBe(0);
  });
});
