import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../../../shared/domain/errors.js';
import { parseVersionNumber, validateAliasName, validateModelName } from '../../../../shared/domain/names.js';
import { applyPromotion, applyRollback, checkPromotion, hasHeld } from '../../../../shared/domain/registry.js';
import type { AuditEntry, Model, ModelVersion, PromotionRequest, VersionStatus } from '../../../../shared/domain/registry.js';
import { platformError } from '../../../support/errors.js';

const AT = '2024-06-10T16:00:00.000Z';

function modelVersion(version: number, status: VersionStatus = 'ready'): ModelVersion {
  return {
    model: 'churn',
    version,
    status,
    artifactUri: `gs://mlops-artifacts/models/churn/${version}/model.onnx`,
    generation: '1718035200123456',
    sha256: 'a'.repeat(64),
    sizeBytes: 1024,
    signature: { inputs: [], outputs: [] },
    metrics: { auc: 0.91 },
    params: {},
    tags: {},
    description: '',
    lineage: { sourceUri: `gs://mlops-artifacts/models/churn/${version}/model.onnx` },
    createdAt: AT,
  };
}

function model(aliases: Record<string, number> = {}, aliasHistory: Record<string, number[]> = {}): Model {
  return { name: 'churn', latestVersion: 5, aliases, aliasHistory, tags: {}, description: '', createdAt: AT, updatedAt: AT };
}

function request(version: number, alias: string): PromotionRequest {
  return { model: 'churn', version, alias, actor: 'alice@example.com', reason: 'better auc', requestId: `req-${alias}-${version}` };
}

function audit(action: AuditEntry['action'], alias: string, toVersion: number): AuditEntry {
  return { id: `${action}-${alias}-${toVersion}`, model: 'churn', action, alias, fromVersion: null, toVersion, actor: 'alice', reason: '', at: AT };
}

/** The code of the PlatformError `run` throws; fails the test when it throws nothing or something else. */
function errorCode(run: () => unknown): ErrorCode {
  return platformError(run).code;
}

describe('validateModelName', () => {
  it.each(['churn', 'churn-classifier', 'fraud2', 'a', `m${'x'.repeat(62)}`])('accepts %j', (name) => {
    expect(validateModelName(name)).toBe(name);
  });

  it.each([
    ['path traversal', '../x'],
    ['a path separator', 'a/b'],
    ['uppercase', 'Churn'],
    ['a space', 'churn model'],
    ['empty', ''],
    ['64 characters', `m${'x'.repeat(63)}`],
    ['a leading digit', '1churn'],
    ['a leading dash', '-churn'],
    ['an underscore', 'churn_v2'],
  ])('rejects a name with %s (%j)', (_why, name) => {
    expect(errorCode(() => validateModelName(name))).toBe('NAME.INVALID');
  });

  it('tells the user what a good name looks like', () => {
    expect(() => validateModelName('Bad Name')).toThrowError(/"Bad Name" is invalid: use 1-63 lowercase letters/);
  });
});

describe('validateAliasName', () => {
  it.each(['production', 'staging', 'champion_2024', 'canary-eu'])('accepts %j', (alias) => {
    expect(validateAliasName(alias)).toBe(alias);
  });

  it.each(['../production', 'prod/eu', 'Production', 'prod eu', '', `a${'b'.repeat(63)}`, '_prod'])('rejects %j', (alias) => {
    expect(errorCode(() => validateAliasName(alias))).toBe('NAME.INVALID');
  });
});

describe('parseVersionNumber', () => {
  it.each([
    ['3', 3],
    [7, 7],
    ['12', 12],
  ] as const)('reads %j as %d', (raw, expected) => {
    expect(parseVersionNumber(raw)).toBe(expected);
  });

  it.each(['0', '-1', '1.5', 'latest', '', 0, Number.NaN])('rejects %j', (raw) => {
    expect(errorCode(() => parseVersionNumber(raw))).toBe('NAME.INVALID');
  });
});

describe('checkPromotion', () => {
  const lenient = { requireStaging: false };
  const strict = { requireStaging: true };

  it('lets a ready version through', () => {
    const ready = modelVersion(2);
    expect(checkPromotion(ready, request(2, 'production'), lenient, [])).toBe(ready);
  });

  it.each([
    ['a missing version', undefined, 'REGISTRY.VERSION_NOT_FOUND'],
    ['a version still registering', modelVersion(2, 'registering'), 'REGISTRY.VERSION_NOT_READY'],
    ['a rejected version', modelVersion(2, 'rejected'), 'REGISTRY.VERSION_NOT_READY'],
  ] as const)('refuses %s', (_why, version, code) => {
    expect(errorCode(() => checkPromotion(version, request(2, 'staging'), lenient, []))).toBe(code);
  });

  it('names the status of a version that is not ready', () => {
    expect(() => checkPromotion(modelVersion(4, 'rejected'), request(4, 'staging'), lenient, [])).toThrowError(/Version 4 of "churn" is rejected/);
  });

  it('with requireStaging, refuses production for a version never in staging', () => {
    const history = [audit('promoted', 'staging', 1), audit('promoted', 'production', 1)];
    expect(errorCode(() => checkPromotion(modelVersion(2), request(2, 'production'), strict, history))).toBe('REGISTRY.PROMOTION_REFUSED');
  });

  it('with requireStaging, allows production once the version was promoted to staging', () => {
    const history = [audit('promoted', 'staging', 2)];
    expect(checkPromotion(modelVersion(2), request(2, 'production'), strict, history).version).toBe(2);
  });

  it('with requireStaging, counts a rollback onto staging as a stay in staging', () => {
    const history = [audit('rolled_back', 'staging', 2)];
    expect(checkPromotion(modelVersion(2), request(2, 'production'), strict, history).version).toBe(2);
  });

  it('with requireStaging, still lets any version into staging and other aliases', () => {
    expect(checkPromotion(modelVersion(3), request(3, 'staging'), strict, []).version).toBe(3);
    expect(checkPromotion(modelVersion(3), request(3, 'champion'), strict, []).version).toBe(3);
  });

  it('without requireStaging, allows production straight away', () => {
    expect(checkPromotion(modelVersion(3), request(3, 'production'), lenient, []).version).toBe(3);
  });
});

describe('hasHeld', () => {
  it('only counts moves onto the alias, not registrations or other aliases', () => {
    const history: AuditEntry[] = [audit('registered', 'staging', 5), audit('rejected', 'staging', 6), audit('promoted', 'production', 7)];
    expect(hasHeld(history, 'staging', 5)).toBe(false);
    expect(hasHeld(history, 'staging', 6)).toBe(false);
    expect(hasHeld(history, 'staging', 7)).toBe(false);
    expect(hasHeld(history, 'production', 7)).toBe(true);
  });
});

describe('applyPromotion', () => {
  it('gives a fresh alias its first holder with nothing to remember', () => {
    const { model: next, previous } = applyPromotion(model(), 'production', 1);

    expect(previous).toBeNull();
    expect(next.aliases).toEqual({ production: 1 });
    expect(next.aliasHistory).toEqual({ production: [] });
  });

  it('remembers the previous holder for rollback', () => {
    const { model: next, previous } = applyPromotion(model({ production: 1 }, { production: [] }), 'production', 2);

    expect(previous).toBe(1);
    expect(next.aliases.production).toBe(2);
    expect(next.aliasHistory.production).toEqual([1]);
  });

  it('does not record the same version twice when re-promoted', () => {
    const current = model({ production: 2 }, { production: [1] });
    const { model: next, previous } = applyPromotion(current, 'production', 2);

    expect(previous).toBe(2);
    expect(next.aliases.production).toBe(2);
    expect(next.aliasHistory.production).toEqual([1]);
  });

  it('leaves other aliases and the input model untouched', () => {
    const current = model({ production: 1, staging: 3 }, { production: [], staging: [2] });
    const { model: next } = applyPromotion(current, 'production', 3);

    expect(next.aliases).toEqual({ production: 3, staging: 3 });
    expect(next.aliasHistory.staging).toEqual([2]);
    expect(current.aliases.production).toBe(1);
    expect(current.aliasHistory.production).toEqual([]);
  });
});

describe('applyRollback', () => {
  it('restores the previous holder', () => {
    const promoted = applyPromotion(applyPromotion(model(), 'production', 1).model, 'production', 2).model;
    const { model: next, from, to } = applyRollback(promoted, 'production');

    expect({ from, to }).toEqual({ from: 2, to: 1 });
    expect(next.aliases.production).toBe(1);
    expect(next.aliasHistory.production).toEqual([]);
  });

  it('fails with REGISTRY.NOTHING_TO_ROLL_BACK when the alias has only ever had one holder', () => {
    const once = applyPromotion(model(), 'production', 1).model;
    expect(errorCode(() => applyRollback(once, 'production'))).toBe('REGISTRY.NOTHING_TO_ROLL_BACK');
  });

  it('fails with REGISTRY.NOTHING_TO_ROLL_BACK for an alias that was never set', () => {
    expect(errorCode(() => applyRollback(model(), 'production'))).toBe('REGISTRY.NOTHING_TO_ROLL_BACK');
  });

  it('walks back through several promotions, then refuses to go further', () => {
    let current = model();
    for (const version of [1, 2, 3, 4]) current = applyPromotion(current, 'production', version).model;

    const moves: Array<[number, number]> = [];
    for (let step = 0; step < 3; step += 1) {
      const rolled = applyRollback(current, 'production');
      moves.push([rolled.from, rolled.to]);
      current = rolled.model;
    }

    expect(moves).toEqual([
      [4, 3],
      [3, 2],
      [2, 1],
    ]);
    expect(current.aliases.production).toBe(1);
    expect(errorCode(() => applyRollback(current, 'production'))).toBe('REGISTRY.NOTHING_TO_ROLL_BACK');
  });

  it('walks back through a version that held the alias twice', () => {
    let current = model();
    for (const version of [1, 2, 1, 3]) current = applyPromotion(current, 'production', version).model;

    const visited: number[] = [];
    while (current.aliasHistory.production?.length) {
      current = applyRollback(current, 'production').model;
      visited.push(current.aliases.production!);
    }

    expect(visited).toEqual([1, 2, 1]);
  });

  it('only rolls back the alias asked for', () => {
    const current = model({ production: 2, staging: 3 }, { production: [1], staging: [2] });
    const { model: next } = applyRollback(current, 'staging');

    expect(next.aliases).toEqual({ production: 2, staging: 2 });
    expect(next.aliasHistory.production).toEqual([1]);
  });
});
