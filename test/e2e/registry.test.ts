import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, Model, ModelVersion } from '../../shared/domain/registry.js';
import { eventually } from '../support/environment.js';
import { type StartedPlatform, startPlatformProcess } from '../support/local-process.js';
import { binaryClassifierOnnx, corruptOnnx, regressorOnnx } from '../support/models.js';
import { mlops } from '../support/cli.js';

const files = mkdtempSync(join(tmpdir(), 'models-'));
const write = (name: string, bytes: Uint8Array | string) => {
  const path = join(files, name);
  writeFileSync(path, bytes);
  return path;
};

describe('model registry through the CLI, the bucket and the registry API', () => {
  let platform: StartedPlatform;
  let firestore: Firestore;
  const classifier = binaryClassifierOnnx();

  beforeAll(async () => {
    platform = await startPlatformProcess({ fresh: true });
    Object.assign(process.env, platform.env, { MLOPS_DATA_DIR: platform.dataDir, METADATA_SERVER_DETECTION: 'none', MLOPS_ACTOR: 'alice@test' });
    firestore = new Firestore({ projectId: 'mlops-local' });
  }, 90_000);

  afterAll(async () => {
    await firestore?.terminate();
    await platform?.stop('SIGTERM');
  });

  const versions = async (model: string) =>
    (await firestore.collection(`models/${model}/versions`).orderBy('version').get()).docs.map((doc) => doc.data() as ModelVersion);
  const history = async (model: string) => JSON.parse((await mlops('models', 'history', model, '--json')).stdout) as AuditEntry[];

  // Registration latency is a benchmark figure (npm run bench), not a timed assertion that flakes on a busy machine.
  it('uploads through the CLI into a ready version with signature, sha256 and metadata', async () => {
    const result = await mlops(
      'upload',
      write('clf.onnx', classifier),
      '--name',
      'churn',
      '--metric',
      'auc=0.91',
      '--param',
      'lr=0.1',
      '--tag',
      'team=risk',
      '--run-id',
      'run-7',
      '--dataset',
      'ds-1',
      '--description',
      'first try',
      '--json',
    );
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const { version } = JSON.parse(result.stdout) as { version: ModelVersion };
    expect(version).toMatchObject({
      model: 'churn',
      version: 1,
      status: 'ready',
      sha256: createHash('sha256').update(classifier).digest('hex'),
      sizeBytes: classifier.byteLength,
      metrics: { auc: 0.91 },
      params: { lr: '0.1' },
      tags: { team: 'risk' },
      description: 'first try',
      lineage: { runId: 'run-7', datasetId: 'ds-1', uploader: 'alice@test' },
      signature: {
        inputs: [{ name: 'features', type: 'float32', shape: [null, 4] }],
        outputs: [
          { name: 'probability', type: 'float32', shape: [null, 1] },
          { name: 'label', type: 'int64', shape: [null, 1] },
        ],
      },
    });
    expect(version.artifactUri).toMatch(/^gs:\/\/mlops-artifacts\/models\/churn\/[^/]+\/model\.onnx$/);
  });

  it('registers a plain copy into the bucket folder with defaults', async () => {
    const folder = join(platform.dataDir, 'bucket', 'mlops-artifacts', 'models', 'house-prices', 'manual');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'model.onnx'), regressorOnnx());
    const [version] = await eventually(async () => ((await versions('house-prices')).length > 0 ? versions('house-prices') : undefined), {
      what: 'house-prices v1',
    });
    expect(version).toMatchObject({
      version: 1,
      status: 'ready',
      metrics: {},
      lineage: { sourceUri: 'gs://mlops-artifacts/models/house-prices/manual/model.onnx' },
    });
    expect(version!.signature.outputs).toEqual([{ name: 'value', type: 'float32', shape: [null, 1] }]);
  });

  it('gives 20 simultaneous uploads of one model versions 1 to 20, no gap, no duplicate', async () => {
    const path = write('burst.onnx', classifier);
    const results = await Promise.all(Array.from({ length: 20 }, () => mlops('upload', path, '--name', 'burst', '--json', '--timeout', '60')));
    expect(results.map((result) => result.code)).toEqual(Array(20).fill(0));
    const numbers = results.map((result) => (JSON.parse(result.stdout) as { version: ModelVersion }).version.version).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 20 }, (_, index) => index + 1));
    expect((await versions('burst')).map((version) => version.version)).toEqual(numbers);
  }, 90_000);

  it('makes one version from the same notification delivered twice', async () => {
    const result = await mlops('upload', write('redeliver.onnx', classifier), '--name', 'redelivered', '--json');
    const { version } = JSON.parse(result.stdout) as { version: ModelVersion };
    const name = version.artifactUri.replace('gs://mlops-artifacts/', '');
    const notification = { kind: 'storage#object', bucket: 'mlops-artifacts', name, generation: version.generation, size: String(version.sizeBytes) };
    const pubsub = new PubSub({ projectId: 'mlops-local' });
    await pubsub.topic('model-artifacts').publishMessage({ json: notification, attributes: { eventType: 'OBJECT_FINALIZE' } });
    await pubsub.topic('model-artifacts').publishMessage({ json: notification, attributes: { eventType: 'OBJECT_FINALIZE' } });
    await pubsub.close();
    await eventually(async () => ((platform.output().match(/redelivered version 1 ready \(redelivery\)/g) ?? []).length >= 2 ? true : undefined), {
      what: 'two redeliveries handled',
    });
    expect((await versions('redelivered')).map((entry) => entry.version)).toEqual([1]);
  });

  it('rejects a corrupt file and a text file renamed .onnx, recording why, using no version number, and dead-lettering the message', async () => {
    const pubsub = new PubSub({ projectId: 'mlops-local' });
    const [deadLetters] = await pubsub.topic('model-artifacts-dead-letter').createSubscription(`dlq-${Date.now()}`);
    const reasons: string[] = [];
    deadLetters.on('message', (message) => {
      reasons.push(message.attributes.deadLetterReason ?? '');
      message.ack();
    });
    await mlops('upload', write('good.onnx', classifier), '--name', 'guarded');
    const corrupt = await mlops('upload', write('corrupt.onnx', corruptOnnx()), '--name', 'guarded');
    const text = await mlops('upload', write('notes.onnx', 'these are my notes, not a model\n'), '--name', 'guarded');
    for (const result of [corrupt, text]) {
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/Rejected: The file is not a valid ONNX model/);
    }
    const rejected = (await history('guarded')).filter((entry) => entry.action === 'rejected');
    expect(rejected).toHaveLength(2);
    expect(rejected.every((entry) => /not a valid ONNX model/.test(entry.reason))).toBe(true);
    const next = await mlops('upload', write('good2.onnx', classifier), '--name', 'guarded', '--json');
    expect((JSON.parse(next.stdout) as { version: ModelVersion }).version.version).toBe(2);
    const human = await mlops('models', 'history', 'guarded');
    expect(human.stdout).toMatch(/rejected .*not a valid ONNX model/);
    await eventually(async () => (reasons.length >= 2 ? true : undefined), { what: 'two dead-lettered notifications' });
    expect(reasons.every((reason) => reason.startsWith('MODEL.LOAD_FAILED: The file is not a valid ONNX model'))).toBe(true);
    await deadLetters.close();
    await pubsub.close();
  });

  it('leaves one production holder and two audit entries when two promotions race; rollback restores the previous holder', async () => {
    const path = write('race.onnx', classifier);
    for (let index = 0; index < 3; index++) await mlops('upload', path, '--name', 'racer');
    expect((await mlops('promote', 'racer', '1', '--to', 'production')).code).toBe(0);
    const raced = await Promise.all([
      mlops('promote', 'racer', '2', '--to', 'production', '--json'),
      mlops('promote', 'racer', '3', '--to', 'production', '--json'),
    ]);
    expect(raced.map((result) => result.code)).toEqual([0, 0]);
    const model = (await firestore.doc('models/racer').get()).data() as Model;
    const promoted = (await history('racer')).filter((entry) => entry.action === 'promoted');
    expect(promoted).toHaveLength(3);
    const [, first, second] = promoted;
    expect(second!.fromVersion).toBe(first!.toVersion);
    expect(model.aliases.production).toBe(second!.toVersion);
    const rolled = await mlops('rollback', 'racer', '--reason', 'bad canary');
    expect(rolled.stdout).toMatch(new RegExp(`production rolled back to version ${first!.toVersion} \\(was version ${second!.toVersion}\\)`));
    expect(((await firestore.doc('models/racer').get()).data() as Model).aliases.production).toBe(first!.toVersion);
  });

  it('takes promotion requests from the model-promotions topic and announces every move on model-promoted', async () => {
    await mlops('upload', write('topic.onnx', classifier), '--name', 'via-topic');
    const pubsub = new PubSub({ projectId: 'mlops-local' });
    const [subscription] = await pubsub.topic('model-promoted').createSubscription(`watch-${Date.now()}`);
    const announced: unknown[] = [];
    subscription.on('message', (message) => {
      announced.push(JSON.parse(message.data.toString()));
      message.ack();
    });
    const request = { schemaVersion: 1, model: 'via-topic', version: 1, alias: 'champion', actor: 'bob', reason: 'from a pipeline', requestId: 'pipeline-42' };
    await pubsub.topic('model-promotions').publishMessage({ json: request });
    await pubsub.topic('model-promotions').publishMessage({ json: request });
    await eventually(async () => (announced.length >= 2 ? true : undefined), { what: 'two model-promoted events' });
    await subscription.close();
    await pubsub.close();
    expect(announced[0]).toMatchObject({ model: 'via-topic', alias: 'champion', version: 1, previousVersion: null, actor: 'bob' });
    expect(((await firestore.doc('models/via-topic').get()).data() as Model).aliases).toEqual({ champion: 1 });
    expect((await history('via-topic')).filter((entry) => entry.action === 'promoted')).toHaveLength(1);
  });

  it('answers bad requests with a clear error and a non-zero exit code', async () => {
    const cases: [string[], number, RegExp][] = [
      [['promote', 'no-such-model', '1', '--to', 'production'], 1, /No model named "no-such-model"/],
      [['promote', 'churn', '99', '--to', 'production'], 1, /has no version 99/],
      [['promote', 'churn', 'one', '--to', 'production'], 1, /Version "one" is invalid/],
      [['promote', 'churn', '1', '--to', '../../etc'], 1, /Alias "..\/..\/etc" is invalid/],
      [['promote', 'churn', '1'], 2, /Missing --to <alias>/],
      [['upload', write('x.onnx', classifier), '--name', 'Bad/Name'], 1, /Model name "Bad\/Name" is invalid/],
      [['upload', join(files, 'missing.onnx'), '--name', 'churn'], 2, /Cannot read .*missing\.onnx/],
      [['upload', write('y.onnx', classifier), '--name', 'churn', '--metric', 'auc'], 2, /--metric expects key=value/],
      [['models', 'show', 'nothing-here'], 1, /No model named "nothing-here"/],
      [['rollback', 'house-prices'], 1, /no earlier holder/],
      [['frobnicate'], 2, /Unknown command "frobnicate"/],
    ];
    for (const [argv, code, message] of cases) {
      const result = await mlops(...argv);
      expect({ argv, code: result.code }).toEqual({ argv, code });
      expect(result.stderr).toMatch(message);
    }
  });

  it('lists and shows models as tables for people and JSON for scripts', async () => {
    const list = await mlops('models', 'list');
    expect(list.stdout).toMatch(/^MODEL\s+LATEST\s+ALIASES\s+SERVING/);
    expect(list.stdout).toMatch(/racer\s+3\s+production=\d/);
    const show = await mlops('models', 'show', 'churn');
    expect(show.stdout).toMatch(/1\s+ready\s+\S*\s+[0-9a-f]{12}\s+\d+ B\s+features:float32\[\?,4\]\s+auc=0.91\s+run-7/);
    const json = JSON.parse((await mlops('models', 'show', 'churn', '--json')).stdout) as { versions: ModelVersion[] };
    expect(json.versions[0]!.version).toBe(1);
  });
});
