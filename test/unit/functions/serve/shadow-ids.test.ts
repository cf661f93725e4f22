import { describe, expect, it } from 'vitest';
import { shadowIdsOf } from '../../../../functions/serve/predictor.js';

describe('shadowIdsOf', () => {
  it("reads production's ids in instance order, trimmed", () => {
    expect(shadowIdsOf('p-1, p-2,p-3')).toEqual(['p-1', 'p-2', 'p-3']);
  });

  it('gives no id where the header has an empty or over-long one, and none at all without the header', () => {
    expect(shadowIdsOf(`p-1,,${'x'.repeat(201)},p-4`)).toEqual(['p-1', undefined, undefined, 'p-4']);
    expect(shadowIdsOf(undefined)).toEqual([]);
    expect(shadowIdsOf('')).toEqual([]);
  });
});
