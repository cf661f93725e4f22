import { describe, expect, it } from 'vitest';
import { DEFAULT_QUALITY_THRESHOLDS, qualitySettingsFromTags, qualityThreshold } from '../../../../shared/domain/quality/quality-settings.js';

describe('qualitySettingsFromTags', () => {
  it('documents its defaults: 5% missing, out of range or unseen, no type violation at all', () => {
    const { settings, problems } = qualitySettingsFromTags({});
    expect(problems).toEqual([]);
    expect(settings).toEqual({ thresholds: { missing: 0.05, out_of_range: 0.05, unseen_category: 0.05, type_violation: 0 }, features: {} });
  });

  it('reads version-wide and per-feature thresholds, the feature own winning', () => {
    const { settings, problems } = qualitySettingsFromTags({
      'quality.max_missing': '0.2',
      'quality.age.max_missing': '0.01',
      'quality.age.max_out_of_range': '1',
      'quality.plan:v2.max_unseen_category': '0',
      'drift.age.method': 'ks',
    });
    expect(problems).toEqual([]);
    expect(qualityThreshold(settings, 'age', 'missing')).toBe(0.01);
    expect(qualityThreshold(settings, 'age', 'out_of_range')).toBe(1);
    expect(qualityThreshold(settings, 'spend', 'missing')).toBe(0.2);
    expect(qualityThreshold(settings, 'plan:v2', 'unseen_category')).toBe(0);
    expect(qualityThreshold(settings, 'spend', 'type_violation')).toBe(DEFAULT_QUALITY_THRESHOLDS.type_violation);
  });

  it('reports a bad value or an unknown quality tag as a problem, keeping the default', () => {
    const { settings, problems } = qualitySettingsFromTags({
      'quality.max_missing': 'lots',
      'quality.age.max_out_of_range': '1.5',
      'quality.max_type_violation': '',
      'quality.max_mising': '0.1',
    });
    expect(problems).toEqual([
      'quality.max_missing: "lots" is not a share from 0 to 1',
      'quality.age.max_out_of_range: "1.5" is not a share from 0 to 1',
      'quality.max_type_violation: "" is not a share from 0 to 1',
      'quality.max_mising: not a quality setting (use quality.max_<check> or quality.<feature>.max_<check>, check one of missing, out_of_range, unseen_category, type_violation)',
    ]);
    expect(settings).toEqual({ thresholds: { ...DEFAULT_QUALITY_THRESHOLDS }, features: {} });
  });
});
