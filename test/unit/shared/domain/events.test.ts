import { describe, expect, it } from 'vitest';
import { GcsObjectNotification, ModelPromoted, ModelRegistered, PredictionsLogged, PromotionRequested, parseEvent } from '../../../../shared/domain/events.js';
import { objectFinalizeNotification } from '../../../../shared/adapters/gcs-notification/gcs-notification.js';
import type { FinalizedObject } from '../../../../shared/adapters/gcs-notification/gcs-notification.js';
import { decodeUploadMetadata, encodeUploadMetadata, modelNameFromObject } from '../../../../shared/domain/upload-metadata.js';
import type { UploadMetadata } from '../../../../shared/domain/upload-metadata.js';
import { platformError } from '../../../support/errors.js';

const BUCKET = 'acme-ml-models';

/** Message bodies of OBJECT_FINALIZE notifications (JSON_API_V1) as GCS publishes them, with what each one means. */
const GCS_PAYLOADS = [
  {
    why: 'a model uploaded by the CLI with metrics, params and tags',
    model: 'churn',
    payload: {
      kind: 'storage#object',
      id: `${BUCKET}/models/churn/run-42/model.onnx/1718035200123456`,
      selfLink: `https://www.googleapis.com/storage/v1/b/${BUCKET}/o/models%2Fchurn%2Frun-42%2Fmodel.onnx`,
      name: 'models/churn/run-42/model.onnx',
      bucket: BUCKET,
      generation: '1718035200123456',
      metageneration: '1',
      contentType: 'application/octet-stream',
      timeCreated: '2024-06-10T16:00:00.123Z',
      updated: '2024-06-10T16:00:00.123Z',
      storageClass: 'STANDARD',
      timeStorageClassUpdated: '2024-06-10T16:00:00.123Z',
      size: '2048',
      md5Hash: 'XrY7u+Ae7tCTyyK7j1rNww==',
      mediaLink: `https://storage.googleapis.com/download/storage/v1/b/${BUCKET}/o/models%2Fchurn%2Frun-42%2Fmodel.onnx?generation=1718035200123456&alt=media`,
      crc32c: 'yZRlqg==',
      etag: 'CMDo2ZXU4oYDEAE=',
      metadata: {
        'mlops-run-id': 'run-42',
        'mlops-dataset-id': 'customers-2024-06',
        'mlops-metric-auc': '0.913',
        'mlops-metric-logloss': '0.27',
        'mlops-param-C': '0.5',
        'mlops-tag-team': 'retention',
      },
    },
    upload: {
      runId: 'run-42',
      datasetId: 'customers-2024-06',
      metrics: { auc: 0.913, logloss: 0.27 },
      params: { C: '0.5' },
      tags: { team: 'retention' },
    },
  },
  {
    why: 'a model copied with gsutil, no custom metadata at all',
    model: 'fraud-detector',
    payload: {
      kind: 'storage#object',
      id: `${BUCKET}/models/fraud-detector/2024-06-11/model.onnx/1718100000000001`,
      selfLink: `https://www.googleapis.com/storage/v1/b/${BUCKET}/o/models%2Ffraud-detector%2F2024-06-11%2Fmodel.onnx`,
      name: 'models/fraud-detector/2024-06-11/model.onnx',
      bucket: BUCKET,
      generation: '1718100000000001',
      metageneration: '1',
      contentType: 'application/octet-stream',
      timeCreated: '2024-06-11T10:00:00.000Z',
      updated: '2024-06-11T10:00:00.000Z',
      storageClass: 'STANDARD',
      timeStorageClassUpdated: '2024-06-11T10:00:00.000Z',
      size: '104857600',
      md5Hash: '1B2M2Y8AsgTpgAmY7PhCfg==',
      mediaLink: `https://storage.googleapis.com/download/storage/v1/b/${BUCKET}/o/models%2Ffraud-detector%2F2024-06-11%2Fmodel.onnx?generation=1718100000000001&alt=media`,
      crc32c: 'AAAAAA==',
      etag: 'CIGAgICAgIADEAE=',
    },
    upload: { metrics: {}, params: {}, tags: {} },
  },
  {
    why: "a composite upload from gcloud storage: no md5Hash, with gcloud's own mtime metadata",
    model: 'ltv',
    payload: {
      kind: 'storage#object',
      id: `${BUCKET}/models/ltv/v3/model.onnx/1718200000000002`,
      name: 'models/ltv/v3/model.onnx',
      bucket: BUCKET,
      generation: '1718200000000002',
      metageneration: '1',
      timeCreated: '2024-06-12T08:30:00.000Z',
      updated: '2024-06-12T08:30:00.000Z',
      size: '734003200',
      crc32c: 'n8R2tQ==',
      componentCount: 32,
      etag: 'CIKAgICAgIADEAE=',
      metadata: { 'goog-reserved-file-mtime': '1718180000', 'mlops-description': 'LTV model, quarterly retrain', 'mlops-uploader': 'ci@acme.iam' },
    },
    upload: { description: 'LTV model, quarterly retrain', uploader: 'ci@acme.iam', metrics: {}, params: {}, tags: {} },
  },
];

describe('GCS notification payloads', () => {
  it.each(GCS_PAYLOADS)('parses $why', ({ payload, model, upload }) => {
    const object = parseEvent(GcsObjectNotification, payload, 'object finalize');

    expect(object).toMatchObject({ bucket: BUCKET, name: payload.name, generation: payload.generation, size: payload.size });
    expect(modelNameFromObject(object.name)).toBe(model);
    expect(decodeUploadMetadata(object.metadata)).toEqual(upload);
  });

  it('survives the JSON round trip Pub/Sub puts the body through', () => {
    for (const { payload } of GCS_PAYLOADS) {
      const delivered = JSON.parse(Buffer.from(JSON.stringify(payload)).toString('utf8'));
      expect(parseEvent(GcsObjectNotification, delivered, 'object finalize').generation).toBe(payload.generation);
    }
  });
});

describe('objectFinalizeNotification', () => {
  const object: FinalizedObject = {
    bucket: BUCKET,
    name: 'models/churn/run-7/model.onnx',
    generation: '1718035200123456',
    size: 2048,
    md5Hash: 'XrY7u+Ae7tCTyyK7j1rNww==',
    crc32c: 'yZRlqg==',
    contentType: 'application/octet-stream',
    metadata: { 'mlops-run-id': 'run-7', 'mlops-metric-auc': '0.88' },
    timeCreated: '2024-06-10T16:00:00.123Z',
  };
  const notificationConfig = `projects/_/buckets/${BUCKET}/notificationConfigs/1`;

  it('carries the attributes GCS documents for OBJECT_FINALIZE', () => {
    const { attributes } = objectFinalizeNotification(object, notificationConfig);

    expect(attributes).toEqual({
      notificationConfig,
      eventType: 'OBJECT_FINALIZE',
      payloadFormat: 'JSON_API_V1',
      bucketId: BUCKET,
      objectId: 'models/churn/run-7/model.onnx',
      objectGeneration: '1718035200123456',
      eventTime: '2024-06-10T16:00:00.123Z',
    });
  });

  it('has a body that parses as a GCS object notification', () => {
    const { data } = objectFinalizeNotification(object, notificationConfig);
    const parsed = parseEvent(GcsObjectNotification, JSON.parse(JSON.stringify(data)), 'object finalize');

    expect(parsed).toEqual({
      kind: 'storage#object',
      bucket: BUCKET,
      name: object.name,
      generation: object.generation,
      size: '2048',
      md5Hash: object.md5Hash,
      contentType: object.contentType,
      metadata: object.metadata,
      timeCreated: object.timeCreated,
    });
  });

  it('formats id and links the way GCS does, with the object name URL-encoded', () => {
    const { data } = objectFinalizeNotification(object, notificationConfig);

    expect(data.id).toBe(`${BUCKET}/models/churn/run-7/model.onnx/1718035200123456`);
    expect(data.selfLink).toBe(`https://www.googleapis.com/storage/v1/b/${BUCKET}/o/models%2Fchurn%2Frun-7%2Fmodel.onnx`);
    expect(data.mediaLink).toBe(
      `https://storage.googleapis.com/download/storage/v1/b/${BUCKET}/o/models%2Fchurn%2Frun-7%2Fmodel.onnx?generation=1718035200123456&alt=media`,
    );
    expect(data.crc32c).toBe('yZRlqg==');
  });

  it('leaves out metadata and crc32c when the object has none, as GCS does', () => {
    const { data } = objectFinalizeNotification({ ...object, metadata: {}, crc32c: undefined }, notificationConfig);

    expect(data).not.toHaveProperty('metadata');
    expect(data).not.toHaveProperty('crc32c');
    expect(decodeUploadMetadata(parseEvent(GcsObjectNotification, data, 'object finalize').metadata)).toEqual({ metrics: {}, params: {}, tags: {} });
  });
});

describe('parseEvent failures', () => {
  const good = GCS_PAYLOADS[0]!.payload;
  const { generation: _dropped, ...withoutGeneration } = good;

  it.each([
    ['a missing generation', withoutGeneration, 'generation'],
    ['a numeric size', { ...good, size: 2048 }, 'size'],
    ['a non-numeric generation', { ...good, generation: 'latest' }, 'generation'],
    ['an empty object name', { ...good, name: '' }, 'name'],
    ['a metadata value that is not a string', { ...good, metadata: { 'mlops-metric-auc': 0.9 } }, 'metadata.mlops-metric-auc'],
    ['a different resource kind', { ...good, kind: 'storage#bucket' }, 'kind'],
  ])('rejects %s with EVENT.INVALID naming %s', (_why, payload, path) => {
    const error = platformError(() => parseEvent(GcsObjectNotification, payload, 'object finalize'));

    expect(error.code).toBe('EVENT.INVALID');
    expect(error.permanent).toBe(true);
    expect(error.message).toMatch(new RegExp(`^Invalid object finalize event: .*\\b${path.replace('.', '\\.')}: `));
  });

  it('names (root) when the body is not an object at all', () => {
    const error = platformError(() => parseEvent(GcsObjectNotification, 'not json', 'object finalize'));
    expect(error.message).toContain('(root): ');
  });

  it('lists every bad field, not just the first', () => {
    const error = platformError(() =>
      parseEvent(ModelRegistered, { schemaVersion: 1, model: 'churn', version: 0, artifactUri: 'gs://x', sha256: 'abc' }, 'model registered'),
    );

    expect(error.message).toContain('version: ');
    expect(error.message).toContain('registeredAt: ');
    expect(error.details?.issues).toHaveLength(2);
  });

  it('rejects an event from a future schema version', () => {
    const error = platformError(() =>
      parseEvent(PromotionRequested, { schemaVersion: 2, model: 'churn', alias: 'production', requestId: 'r1' }, 'promotion requested'),
    );
    expect(error.message).toContain('schemaVersion: ');
  });

  it('fills the documented defaults of a promotion request', () => {
    expect(
      parseEvent(PromotionRequested, { schemaVersion: 1, model: 'churn', version: 3, alias: 'production', requestId: 'r1' }, 'promotion requested'),
    ).toEqual({
      schemaVersion: 1,
      model: 'churn',
      version: 3,
      alias: 'production',
      action: 'promote',
      actor: 'unknown',
      reason: '',
      requestId: 'r1',
    });
  });

  it('accepts a first promotion with no previous version', () => {
    const event = {
      schemaVersion: 1,
      model: 'churn',
      alias: 'production',
      version: 1,
      previousVersion: null,
      actor: 'alice',
      promotedAt: '2024-06-10T16:00:00Z',
    };
    expect(parseEvent(ModelPromoted, event, 'model promoted')).toEqual(event);
  });
});

describe('upload metadata', () => {
  const full: UploadMetadata = {
    runId: 'run-42',
    datasetId: 'customers-2024-06',
    uploader: 'alice@example.com',
    description: 'Gradient boosted churn model, June retrain',
    metrics: { auc: 0.913, logloss: 0.27, rows: 120000, delta: -0.004 },
    params: { max_depth: '6', learning_rate: '0.05' },
    tags: { team: 'retention', stage: 'candidate' },
  };

  it('encodes to flat mlops- prefixed string keys', () => {
    expect(encodeUploadMetadata({ runId: 'run-1', metrics: { auc: 0.9 }, params: { depth: '3' }, tags: { team: 'growth' } })).toEqual({
      'mlops-run-id': 'run-1',
      'mlops-metric-auc': '0.9',
      'mlops-param-depth': '3',
      'mlops-tag-team': 'growth',
    });
  });

  it.each([
    ['everything set', full],
    ['only metrics', { metrics: { accuracy: 1, mae: 0.1 + 0.2 }, params: {}, tags: {} }],
    ['nothing set', { metrics: {}, params: {}, tags: {} }],
  ])('round-trips %s', (_why, metadata) => {
    expect(decodeUploadMetadata(encodeUploadMetadata(metadata))).toEqual(metadata);
  });

  it('ignores keys it does not own', () => {
    expect(decodeUploadMetadata({ 'goog-reserved-file-mtime': '1718180000', owner: 'bob', 'mlops-run-id': 'r' })).toEqual({
      runId: 'r',
      metrics: {},
      params: {},
      tags: {},
    });
  });

  it.each(['high', '', 'Infinity', 'NaN'])('rejects the metric value %j with MODEL.INVALID_METADATA naming the key', (value) => {
    const error = platformError(() => decodeUploadMetadata({ 'mlops-metric-auc': value }));

    expect(error.code).toBe('MODEL.INVALID_METADATA');
    expect(error.message).toContain('mlops-metric-auc');
  });
});

describe('modelNameFromObject', () => {
  it.each([
    ['models/churn/abc/model.onnx', 'churn'],
    ['models/churn/model.onnx', 'churn'],
    ['models/fraud-detector/2024/06/11/model.onnx', 'fraud-detector'],
  ])('reads %s as model %s', (objectName, model) => {
    expect(modelNameFromObject(objectName)).toBe(model);
  });

  it.each(['models/churn/abc/metrics.json', 'models/churn/abc/model.onnx.tmp', 'models/churn/abc/'])('ignores %s, which is not a model file', (objectName) => {
    expect(modelNameFromObject(objectName)).toBeUndefined();
  });

  it.each(['other/churn/x.onnx', 'models/x.onnx', 'models/Bad Name/x/model.onnx', 'models/../x/model.onnx', 'models//x/model.onnx'])(
    'rejects %s with NAME.INVALID',
    (objectName) => {
      expect(platformError(() => modelNameFromObject(objectName)).code).toBe('NAME.INVALID');
    },
  );
});

describe('PredictionsLogged', () => {
  const record = {
    predictionId: 'p-1',
    model: 'churn',
    version: 3,
    requestTime: '2026-12-01T12:00:00.000Z',
    features: { tenure: 4 },
    outputs: { probability: 0.25 },
    latencyMs: 0.021,
    source: 'online' as const,
  };

  it('reads the compact form serving publishes as the same whole records as the full form', () => {
    const compact = {
      schemaVersion: 2,
      model: 'churn',
      version: 3,
      source: 'online',
      predictions: [['p-1', '2026-12-01T12:00:00.000Z', 0.021, { tenure: 4 }, { probability: 0.25 }]],
    };
    const full = { schemaVersion: 1, predictions: [record] };
    expect(parseEvent(PredictionsLogged, compact, 'predictions-logged')).toEqual(full);
    expect(parseEvent(PredictionsLogged, full, 'predictions-logged')).toEqual(full);
  });

  it('refuses a compact prediction of the wrong shape, naming where it is', () => {
    const broken = { schemaVersion: 2, model: 'churn', version: 3, source: 'online', predictions: [['p-1', '2026-12-01T12:00:00.000Z', -1, {}, {}]] };
    const error = platformError(() => parseEvent(PredictionsLogged, broken, 'predictions-logged'));
    expect(error.code).toBe('EVENT.INVALID');
    expect(error.message).toContain('predictions.0.2');
  });
});
