import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runArtifactUri } from '../../functions/tracking/mlflow/artifact-paths.js';
import { MULTIPART_UNSUPPORTED } from '../../functions/tracking/mlflow/artifact-routes.js';
import { LocalBucketArtifactStore } from '../../shared/adapters/local-bucket/local-bucket-artifact-store.js';
import type { StoredObject } from '../../shared/ports/artifact-store.port.js';
import { listRunArtifacts } from '../../shared/services/tracking.js';
import { useEmulators } from '../support/environment.js';
import { emulatorMlflowDeps, type MlflowServer, serveMlflowRoutes } from '../support/mlflow-server.js';

const { projectId } = useEmulators();
const KEY = 'mlflow-artifacts-key';
const root = mkdtempSync(join(tmpdir(), 'mlflow-artifacts-'));
const finalized: StoredObject[] = [];
const artifacts = new LocalBucketArtifactStore({ root, bucket: 'artifacts', onFinalize: async (object) => void finalized.push(object) });
const { tracking, loggedModels, deps, close } = emulatorMlflowDeps(projectId, artifacts);
let server: MlflowServer;
let base = '';

beforeAll(async () => {
  server = await serveMlflowRoutes(deps, KEY);
  base = server.base;
});

afterAll(async () => {
  await server?.close();
  await close();
  rmSync(root, { recursive: true, force: true });
});

/** What MLflow's HttpArtifactRepository is built with: the artifact URI resolved against the tracking server. */
function repositoryUrl(artifactUri: string): string {
  return `${base}/api/2.0/mlflow-artifacts/artifacts/${artifactUri.replace(/^mlflow-artifacts:\//, '')}`;
}

function call(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, headers: { authorization: `Bearer ${KEY}`, ...init.headers } });
}

async function newRun(): Promise<{ runId: string; experimentId: string; repository: string }> {
  const { experiment } = await tracking.createExperiment(`artifacts-${randomUUID().slice(0, 8)}`);
  const run = await tracking.createRun({ experimentId: experiment.id, name: 'proxy' });
  return { runId: run.id, experimentId: experiment.id, repository: repositoryUrl(runArtifactUri(experiment.id, run.id)) };
}

/** log_artifact: PUT <repository>/<artifact path>/<file name> with the guessed type, as http_artifact_repo.py sends it. */
async function logArtifact(repository: string, path: string, content: Uint8Array | ReadableStream<Uint8Array>, contentType = 'application/octet-stream') {
  const response = await call(`${repository}/${path}`, {
    method: 'PUT',
    body: content,
    headers: { 'content-type': contentType },
    duplex: 'half',
  } as RequestInit);
  expect(response.status, await response.clone().text()).toBe(200);
  expect(await response.json()).toEqual({});
}

async function download(repository: string, path: string): Promise<{ response: Response; bytes: Buffer }> {
  const response = await call(`${repository}/${path}`);
  return { response, bytes: Buffer.from(await response.arrayBuffer()) };
}

interface FileInfo {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

/** list_artifacts(path): GET /artifacts?path=<root>/<path>, each entry's path joined onto `path`, sorted, as http_artifact_repo.py does. */
async function listArtifacts(artifactUri: string, path?: string): Promise<FileInfo[]> {
  const tail = artifactUri.replace(/^mlflow-artifacts:\//, '');
  const query = new URLSearchParams({ path: path ? `${tail}/${path}` : tail });
  const response = await call(`${base}/api/2.0/mlflow-artifacts/artifacts?${query}`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { files?: FileInfo[] };
  return (body.files ?? []).map((file) => ({ ...file, path: path ? `${path}/${file.path}` : file.path })).sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** download_artifacts(""): walks the listing down every folder, as the client does, and downloads each file. */
async function downloadAll(artifactUri: string, path?: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await listArtifacts(artifactUri, path)) {
    if (entry.is_dir) for (const [name, bytes] of await downloadAll(artifactUri, entry.path)) files.set(name, bytes);
    else files.set(entry.path, (await download(repositoryUrl(artifactUri), entry.path)).bytes);
  }
  return files;
}

/** Sends a request exactly as written: fetch would resolve `%2E%2E` segments before sending, as browsers do. */
function sendUnnormalized(method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(base);
    const sent = request({ hostname, port, path, method, headers: { authorization: `Bearer ${KEY}` } }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    sent.on('error', reject).end(method === 'PUT' ? 'x' : undefined);
  });
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('the MLflow artifact proxy over real HTTP and a real local bucket', () => {
  it('round-trips a text file byte for byte, with the headers MLflow sends, where the native API keeps run artifacts', async () => {
    const { runId, repository } = await newRun();
    const text = Buffer.from('accuracy: 0.93\nnotes: ünïcode ✓\n');
    await logArtifact(repository, 'notes/summary.txt', text, 'text/plain');
    const { response, bytes } = await download(repository, 'notes/summary.txt');
    expect(response.status).toBe(200);
    expect(bytes.equals(text)).toBe(true);
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(response.headers.get('content-length')).toBe(String(text.length));
    expect(response.headers.get('content-disposition')).toBe('attachment; filename=summary.txt');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await listRunArtifacts(artifacts, runId)).toEqual([expect.objectContaining({ path: 'notes/summary.txt', size: text.length })]);
  });

  it('streams a multi-MiB upload sent in chunks without a length, and streams it back identical', async () => {
    const { repository } = await newRun();
    const chunks = Array.from({ length: 24 }, () => randomBytes(512 * 1024));
    const whole = Buffer.concat(chunks);
    let next = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (next < chunks.length) controller.enqueue(chunks[next++]!);
        else controller.close();
      },
    });
    await logArtifact(repository, 'model/weights.bin', body);
    const { response, bytes } = await download(repository, 'model/weights.bin');
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(bytes.length).toBe(12 * 1024 * 1024);
    expect(sha256(bytes)).toBe(sha256(whole));
  });

  it('lists a nested folder one level at a time, exactly as http_artifact_repo.py parses it, and downloads it whole', async () => {
    const { experimentId, runId, repository } = await newRun();
    const uploaded = new Map<string, Buffer>([
      ['a.txt', Buffer.from('top level')],
      ['model/MLmodel', Buffer.from('flavors:\n  onnx:\n    data: model.onnx\n')],
      ['model/model.onnx', randomBytes(70_000)],
      ['model/data/weights.bin', randomBytes(1234)],
      ['plots/roc curve.png', randomBytes(99)],
    ]);
    for (const [path, bytes] of uploaded) await logArtifact(repository, path.split('/').map(encodeURIComponent).join('/'), bytes);

    const tail = runArtifactUri(experimentId, runId).replace('mlflow-artifacts:/', '');
    const raw = await call(`${base}/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(`${tail}/model`)}`);
    expect(await raw.json()).toEqual({
      files: [
        { path: 'MLmodel', is_dir: false, file_size: uploaded.get('model/MLmodel')!.length },
        { path: 'data', is_dir: true },
        { path: 'model.onnx', is_dir: false, file_size: 70_000 },
      ],
    });
    const artifactUri = runArtifactUri(experimentId, runId);
    expect(await listArtifacts(artifactUri)).toEqual([
      { path: 'a.txt', is_dir: false, file_size: 9 },
      { path: 'model', is_dir: true },
      { path: 'plots', is_dir: true },
    ]);
    expect(await listArtifacts(artifactUri, 'model/data')).toEqual([{ path: 'model/data/weights.bin', is_dir: false, file_size: 1234 }]);
    const downloaded = await downloadAll(artifactUri);
    expect([...downloaded.keys()].sort()).toEqual([...uploaded.keys()].sort());
    for (const [path, bytes] of uploaded) expect(downloaded.get(path)?.equals(bytes), path).toBe(true);
  });

  it('answers {} for an empty or absent folder and for a path that names a file', async () => {
    const { experimentId, runId, repository } = await newRun();
    const artifactUri = runArtifactUri(experimentId, runId);
    const empty = await call(`${base}/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(`${experimentId}/${runId}/artifacts`)}`);
    expect(await empty.json()).toEqual({});
    await logArtifact(repository, 'only.txt', Buffer.from('x'));
    expect(await listArtifacts(artifactUri, 'missing')).toEqual([]);
    expect(await listArtifacts(artifactUri, 'only.txt')).toEqual([]);
  });

  it('deletes one file, then a whole folder', async () => {
    const { experimentId, runId, repository } = await newRun();
    for (const path of ['keep.txt', 'tmp/a.bin', 'tmp/deep/b.bin', 'tmp2/c.bin']) await logArtifact(repository, path, Buffer.from(path));
    expect((await call(`${repository}/keep.txt`, { method: 'DELETE' })).status).toBe(200);
    const folder = await call(`${repository}/tmp`, { method: 'DELETE' });
    expect(folder.status).toBe(200);
    expect(await folder.json()).toEqual({});
    expect((await listRunArtifacts(artifacts, runId)).map((artifact) => artifact.path)).toEqual(['tmp2/c.bin']);
    expect(await listArtifacts(runArtifactUri(experimentId, runId))).toEqual([{ path: 'tmp2', is_dir: true }]);
  });

  it('stores a logged model under logged-models/, and nothing ever under models/ (which would start a registration)', async () => {
    const { experimentId } = await newRun();
    const model = await loggedModels.create({ experimentId, name: 'model', params: {}, tags: {} });
    const onnx = randomBytes(4096);
    await logArtifact(repositoryUrl(model.artifactLocation), 'model.onnx', onnx);
    expect((await artifacts.stat(`logged-models/${model.id}/artifacts/model.onnx`))?.size).toBe(4096);
    expect((await download(repositoryUrl(model.artifactLocation), 'model.onnx')).bytes.equals(onnx)).toBe(true);
    expect(finalized.length).toBeGreaterThan(0);
    expect(finalized.filter((object) => object.name.startsWith('models/'))).toEqual([]);
  });

  it('answers the multipart calls NOT_IMPLEMENTED with the message the client falls back to a single PUT on', async () => {
    const { experimentId, runId } = await newRun();
    for (const step of ['create', 'complete', 'abort']) {
      const response = await call(`${base}/api/2.0/mlflow-artifacts/mpu/${step}/${experimentId}/${runId}/artifacts/big.bin`, {
        method: 'POST',
        body: JSON.stringify({ path: '/tmp/big.bin', num_parts: 3, upload_id: 'u' }),
        headers: { 'content-type': 'application/json' },
      });
      expect(response.status).toBe(501);
      const body = (await response.json()) as { error_code: string; message: string };
      expect(body.error_code).toBe('NOT_IMPLEMENTED');
      expect(body.message.startsWith(MULTIPART_UNSUPPORTED)).toBe(true);
    }
  });

  it.each([
    ['an upload to a run that does not exist', 'PUT', '0/no-such-run/artifacts/a.txt', 404, 'RESOURCE_DOES_NOT_EXIST'],
    ['an upload to a logged model that does not exist', 'PUT', `0/models/m-${'0'.repeat(32)}/artifacts/a.txt`, 404, 'RESOURCE_DOES_NOT_EXIST'],
    ['an encoded slash escape', 'GET', 'RUN/artifacts/..%2F..%2Fx', 400, 'INVALID_PARAMETER_VALUE'],
    ['a plain path escape', 'PUT', 'RUN/artifacts/../../../etc/passwd', 400, 'INVALID_PARAMETER_VALUE'],
    ['a path outside any run', 'GET', '0/loose.txt', 400, 'INVALID_PARAMETER_VALUE'],
    ['an upload to a folder root', 'PUT', 'RUN/artifacts', 400, 'INVALID_PARAMETER_VALUE'],
    ['a download of a missing file', 'GET', 'RUN/artifacts/missing.txt', 404, 'RESOURCE_DOES_NOT_EXIST'],
  ])('refuses %s with %s %s', async (_label, method, path, status, errorCode) => {
    const { experimentId, runId } = await newRun();
    const response = await sendUnnormalized(method, `/api/2.0/mlflow-artifacts/artifacts/${path.replace('RUN', `${experimentId}/${runId}`)}`);
    expect(response.status).toBe(status);
    const body = JSON.parse(response.body) as { error_code: string; message: string };
    expect(body.error_code).toBe(errorCode);
    expect(body.message.length).toBeGreaterThan(20);
    expect((await listRunArtifacts(artifacts, runId)).length).toBe(0);
  });

  // The URL parser resolves `.` and `..` segments (encoded or not) before any route sees the path, so an
  // escape either leaves the proxy's routes or lands on a path that must still name a run's folder.
  it('lets no path escape write outside a run folder, however it is spelled', async () => {
    const { experimentId, runId } = await newRun();
    const before = (await artifacts.list('')).map((object) => object.name);
    for (const escaping of [
      `${experimentId}/${runId}/artifacts/%2E%2E/%2E%2E/%2E%2E/%2E%2E/models/churn/x/model.onnx`,
      `${experimentId}/${runId}/artifacts/../../../../models/churn/x/model.onnx`,
      `${experimentId}/${runId}/artifacts/%2e%2e%2f%2e%2e%2fmodels%2fx`,
      `${experimentId}/${runId}/artifacts/a%5C..%5C..%5Cb`,
      `${experimentId}/%2E%2E/${runId}/artifacts/x`,
    ]) {
      const response = await sendUnnormalized('PUT', `/api/2.0/mlflow-artifacts/artifacts/${escaping}`);
      expect([400, 404], `${escaping}: ${response.body}`).toContain(response.status);
    }
    expect((await artifacts.list('')).map((object) => object.name)).toEqual(before);
  });

  it('refuses a request without the API key with 401 UNAUTHENTICATED and stores nothing', async () => {
    const { runId, repository } = await newRun();
    const response = await fetch(`${repository}/a.txt`, { method: 'PUT', body: 'x' });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error_code: string }).error_code).toBe('UNAUTHENTICATED');
    expect(await listRunArtifacts(artifacts, runId)).toEqual([]);
  });
});
