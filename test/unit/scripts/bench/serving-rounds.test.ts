import { describe, expect, it } from 'vitest';
import type { CaseResult } from '../../../../scripts/bench/serving-entries.js';
import { type Round, ratiosOf, roundShares } from '../../../../scripts/bench/serving-rounds.js';

const at = (requestsPerSecond: number, othersCores = 0): CaseResult => ({ requestsPerSecond, othersCores }) as CaseResult;
const round = (handWritten: number, revision: number, fastApi?: number, fastApiOthers = 0): Round => ({
  handWritten: at(handWritten),
  revision: at(revision),
  fastApi: fastApi === undefined ? undefined : at(fastApi, fastApiOthers),
});

describe('alternating rounds', () => {
  it('judges on the median of each round’s own ratio, so a slow spell moving both servers of a round leaves it alone', () => {
    // The machine halves its speed in round 2: both servers slow together, the round's ratio holds.
    const ratios = ratiosOf([round(30_000, 24_000, 4_000), round(15_000, 12_000, 2_000), round(28_000, 19_600, 3_500)]);
    expect(ratios.shareOfHandWritten).toBeCloseTo(0.8, 12);
    expect(ratios.timesFastApi).toBeCloseTo(6, 12);
    expect(roundShares(ratios)).toBe('80%, 80%, 70%');
  });

  it('leaves out a round taken while others used the machine, unless every round was', () => {
    const busy = round(30_000, 15_000, 3_000, 0.69);
    const ratios = ratiosOf([round(30_000, 24_000, 4_000), busy, round(30_000, 27_000, 4_000)]);
    expect(ratios.judged).toHaveLength(2);
    expect(ratios.shareOfHandWritten).toBeCloseTo(0.85, 12);
    expect(roundShares(ratios)).toBe('80%, 90%; 1 busy round left out');
    expect(ratiosOf([busy]).shareOfHandWritten).toBeCloseTo(0.5, 12);
  });

  it('has no FastAPI ratio when a round could not load the peer', () => {
    expect(ratiosOf([round(30_000, 24_000, 4_000), round(30_000, 24_000)]).timesFastApi).toBeUndefined();
  });
});
