import { describe, expect, it } from 'vitest';
import type { VersionMonitoring } from '../../../../shared/domain/monitoring-events.js';
import {
  conditionsHolding,
  driftFindings,
  episodeRequestId,
  PUBLISH_CLAIM_MS,
  parseRetrainWhen,
  RetrainRequested,
  type RetrainEpisode,
  retrainWindowQuery,
  stepEpisode,
  windowExportPath,
} from '../../../../shared/domain/retrain.js';
import { decodeUploadMetadata, encodeUploadMetadata, parseModelReference } from '../../../../shared/domain/upload-metadata.js';
import { platformError } from '../../../support/errors.js';

describe('the retrain.when tag', () => {
  it('parses clauses joined by commas, with spaces, exponents and every operator', () => {
    expect(parseRetrainWhen('accuracy<0.85, rmse > 2.5,roc_auc<=.7,log_loss>=1e-1')).toEqual([
      { metric: 'accuracy', operator: '<', threshold: 0.85 },
      { metric: 'rmse', operator: '>', threshold: 2.5 },
      { metric: 'roc_auc', operator: '<=', threshold: 0.7 },
      { metric: 'log_loss', operator: '>=', threshold: 0.1 },
    ]);
  });

  it.each(['accuracy', 'accuracy<', 'accuracy<0.8,', '<0.8', 'accuracy=0.8', 'accuracy<high', 'accuracy<0.8;rmse>2'])(
    'refuses %j, naming the clause and the form to write',
    (text) => {
      const error = platformError(() => parseRetrainWhen(text));
      expect(error.code).toBe('RETRAIN.INVALID_CONDITION');
      expect(error.message).toContain('retrain.when');
      expect(error.message).toContain('e.g. "accuracy<0.85,rmse>2.5"');
    },
  );

  it('holds a clause only on a measured metric past its threshold, and says which', () => {
    const conditions = parseRetrainWhen('accuracy<0.85,rmse>2.5,f1<=0.5');
    expect(conditionsHolding(conditions, { accuracy: 0.8123456, rmse: 2.5, f1: null })).toEqual(['accuracy 0.8123 < 0.85']);
    expect(conditionsHolding(conditions, { accuracy: 0.85, rmse: 2.6 })).toEqual(['rmse 2.6 > 2.5']);
    expect(conditionsHolding(conditions, {})).toEqual([]);
  });
});

const quiet: VersionMonitoring = {
  model: 'churn',
  version: 1,
  aliases: ['production'],
  reference: 'dataset:churn-train',
  features: [
    {
      feature: 'age',
      kind: 'numeric',
      method: 'psi',
      value: 0.05,
      threshold: 0.2,
      drifted: false,
      statistic: 0.05,
      tolerance: 0,
      referenceSize: 100,
      currentSize: 100,
    },
  ],
  skipped: [],
  datasetDrift: { share: 0, threshold: 0.5, drifted: false },
  performance: { accuracy: 0.9 },
  health: {},
  alertsOpened: [],
  alertsResolved: [],
  problems: [],
};

describe('what drifted for a version', () => {
  it('finds nothing in a quiet run', () => {
    expect(driftFindings(quiet)).toEqual([]);
  });

  it('names drifted features, the dataset, quality checks, attributions and flagged fairness comparisons', () => {
    const drifted: VersionMonitoring = {
      ...quiet,
      features: [{ ...quiet.features[0]!, value: 0.31, drifted: true }],
      datasetDrift: { share: 1, threshold: 0.5, drifted: true },
      quality: {
        checks: [{ feature: 'age', check: 'missing', value: 0.4, failing: 40, rows: 100, threshold: 0.1, crossed: true }],
        refused: [],
        requests: 100,
      },
      attributions: {
        reference: 'dataset:churn-train',
        method: 'shap',
        referenceSize: 100,
        currentSize: 100,
        features: [
          {
            feature: 'tenure',
            referenceImportance: 1,
            currentImportance: 2,
            referenceShare: 0.2,
            currentShare: 0.5,
            value: 0.3,
            threshold: 0.1,
            drifted: true,
          },
        ],
        ndcg: { value: 0.7, threshold: 0.9, drifted: true },
      },
      fairness: {
        attributes: [
          {
            attribute: 'sex',
            groups: [],
            comparisons: [{ metric: 'disparate_impact_ratio', value: 0.6, threshold: 0.8, flagged: true, groups: ['F', 'M'], predictions: 100, labelled: 100 }],
            ungrouped: 0,
          },
        ],
      },
    };
    expect(driftFindings(drifted)).toEqual([
      'feature age drifted (psi 0.31)',
      'dataset drift: share 1 of features drifted',
      'data quality missing on age (0.4)',
      'attribution of tenure moved (0.3)',
      'feature importance ranking changed (nDCG 0.7)',
      'fairness disparate_impact_ratio on sex (0.6)',
    ]);
  });
});

describe('the episode rule', () => {
  const AT = '2026-05-01T10:05:00.000Z';
  const later = (ms: number) => new Date(Date.parse(AT) + ms).toISOString();
  const run = (windowEnd: string, holds: boolean, { version = 1, at = AT } = {}) => ({ model: 'churn', holds, version, windowEnd, at });
  const published = (episode: RetrainEpisode | undefined): RetrainEpisode => ({ ...episode!, published: true });

  it('opens on the first run where the condition holds, claiming the publish, and closes on the first where it does not', () => {
    const opened = stepEpisode(undefined, run('2024-05-01T10:00:00.000Z', true));
    expect(opened).toEqual({
      publish: true,
      changed: true,
      claimedElsewhere: false,
      episode: {
        model: 'churn',
        state: 'open',
        requestId: 'churn-20240501T100000000Z',
        published: false,
        claimedAt: AT,
        version: 1,
        openedAt: '2024-05-01T10:00:00.000Z',
        lastWindowEnd: '2024-05-01T10:00:00.000Z',
      },
    });
    const kept = stepEpisode(published(opened.episode), run('2024-05-01T11:00:00.000Z', true));
    expect(kept).toMatchObject({
      publish: false,
      claimedElsewhere: false,
      episode: { state: 'open', requestId: 'churn-20240501T100000000Z', lastWindowEnd: '2024-05-01T11:00:00.000Z' },
    });
    const closed = stepEpisode(kept.episode, run('2024-05-01T12:00:00.000Z', false));
    expect(closed).toMatchObject({ publish: false, episode: { state: 'closed', closedAt: '2024-05-01T12:00:00.000Z' } });
    const reopened = stepEpisode(closed.episode, run('2024-05-01T13:00:00.000Z', true, { version: 2 }));
    expect(reopened).toMatchObject({ publish: true, episode: { state: 'open', version: 2, requestId: 'churn-20240501T130000000Z', published: false } });
  });

  it('lets no other run publish while the claim is fresh and unconfirmed, and hands a stale claim over under the same id', () => {
    const opened = stepEpisode(undefined, run('2024-05-01T10:00:00.000Z', true)).episode!;
    const racing = stepEpisode(opened, run('2024-05-01T10:00:00.000Z', true, { at: later(PUBLISH_CLAIM_MS - 1) }));
    expect(racing).toMatchObject({ publish: false, claimedElsewhere: true, episode: { claimedAt: AT } });
    const takenOver = stepEpisode(opened, run('2024-05-01T10:00:00.000Z', true, { at: later(PUBLISH_CLAIM_MS) }));
    expect(takenOver).toMatchObject({ publish: true, claimedElsewhere: false, episode: { requestId: opened.requestId, claimedAt: later(PUBLISH_CLAIM_MS) } });
  });

  it('ignores a run older than the newest seen, so a late redelivery cannot close a newer episode', () => {
    const opened = published(stepEpisode(undefined, run('2024-05-01T10:00:00.000Z', true)).episode);
    expect(stepEpisode(opened, run('2024-05-01T09:00:00.000Z', false))).toEqual({ episode: opened, publish: false, changed: false, claimedElsewhere: false });
  });

  it('writes nothing for a model that never held', () => {
    expect(stepEpisode(undefined, run('2024-05-01T10:00:00.000Z', false))).toEqual({
      episode: undefined,
      publish: false,
      changed: false,
      claimedElsewhere: false,
    });
  });

  it('gives a request id that is the same for the same model and opening window, and differs otherwise', () => {
    expect(episodeRequestId('churn', '2024-05-01T10:00:00Z')).toBe(episodeRequestId('churn', '2024-05-01T10:00:00.000Z'));
    expect(episodeRequestId('churn', '2024-05-01T10:00:00Z')).not.toBe(episodeRequestId('churn', '2024-05-01T11:00:00Z'));
    expect(episodeRequestId('churn', '2024-05-01T10:00:00Z')).not.toBe(episodeRequestId('fraud', '2024-05-01T10:00:00Z'));
  });
});
describe('the retrain request', () => {
  const request = {
    schemaVersion: 1,
    requestId: 'churn-20240501T100000000Z',
    model: 'churn',
    version: 3,
    reason: 'drift',
    detail: 'feature age drifted (psi 0.31)',
    window: { start: '2024-04-30T10:00:00.000Z', end: '2024-05-01T10:00:00.000Z' },
    data: { referenceDatasetId: 'churn-train', windowQuery: 'SELECT 1' },
    requestedAt: '2024-05-01T10:05:00.000Z',
  };

  it('accepts a complete request and refuses an unknown reason, a bad model name or an id that cannot name a folder', () => {
    expect(RetrainRequested.parse(request)).toEqual(request);
    expect(RetrainRequested.safeParse({ ...request, reason: 'boredom' }).success).toBe(false);
    expect(RetrainRequested.safeParse({ ...request, model: 'Churn Model' }).success).toBe(false);
    expect(RetrainRequested.safeParse({ ...request, requestId: '../escape' }).success).toBe(false);
    expect(RetrainRequested.safeParse({ ...request, window: { start: 'yesterday', end: request.window.end } }).success).toBe(false);
  });

  it('selects the version and window, not shadow copies, with the tables named as the caller qualifies them', () => {
    const sql = retrainWindowQuery(request, (table) => `\`acme.mlops.${table}\``);
    expect(sql).toContain('FROM `acme.mlops.predictions` AS p LEFT JOIN `acme.mlops.ground_truth` AS g ON g.prediction_id = p.prediction_id');
    expect(sql).toContain("p.model = 'churn' AND p.version = 3 AND p.source <> 'shadow'");
    expect(sql).toContain("p.request_time >= TIMESTAMP '2024-04-30T10:00:00.000Z' AND p.request_time < TIMESTAMP '2024-05-01T10:00:00.000Z'");
    expect(retrainWindowQuery(request)).toContain('FROM {{predictions}} AS p');
    expect(windowExportPath(request)).toBe('retrain/churn/churn-20240501T100000000Z/window.jsonl');
  });
});

describe('the lineage parent of an upload', () => {
  it('travels as mlops-parent: <model>@<version> and back', () => {
    const encoded = encodeUploadMetadata({ parent: { model: 'churn', version: 3 }, metrics: {}, params: {}, tags: {} });
    expect(encoded).toEqual({ 'mlops-parent': 'churn@3' });
    expect(decodeUploadMetadata(encoded).parent).toEqual({ model: 'churn', version: 3 });
    expect(decodeUploadMetadata({}).parent).toBeUndefined();
  });

  it.each([
    ['churn', 'names no version'],
    ['@3', 'names no version'],
    ['churn@0', 'Version "0" is invalid'],
    ['Churn@1', 'Model name "Churn" is invalid'],
  ])('refuses %j (%s)', (text, message) => {
    const error = platformError(() => parseModelReference(text));
    expect(error.code).toBe('NAME.INVALID');
    expect(error.message).toContain(message);
  });
});
