import { describe, expect, it } from 'vitest';
import { OutcomeCounts } from '../../../../shared/services/outcome-counts.js';

const churn = { model: 'churn', version: 3, source: 'online' as const };
const at = (iso: string) => Date.parse(iso);

describe('OutcomeCounts', () => {
  it('counts by minute (UTC, floored), status and code, and reports each changed minute whole', () => {
    const counts = new OutcomeCounts();
    counts.count(churn, 400, 'MODEL.INVALID_INPUT', at('2026-12-01T12:03:59.999Z'));
    counts.count(churn, 400, 'MODEL.INVALID_INPUT', at('2026-12-01T12:03:00.000Z'));
    counts.count(churn, 500, 'INTERNAL', at('2026-12-01T12:04:00.000Z'));
    const [report] = counts.reports(at('2026-12-01T12:04:01Z'));
    expect(report).toMatchObject({ model: 'churn', version: 3, source: 'online' });
    expect(report!.outcomes).toEqual([
      ['2026-12-01T12:03:00.000Z', 400, 'MODEL.INVALID_INPUT', 2],
      ['2026-12-01T12:04:00.000Z', 500, 'INTERNAL', 1],
    ]);
  });

  it('reports a minute again only after it changed, with its running count, and keeps it pending until a report is settled', () => {
    const counts = new OutcomeCounts();
    const now = at('2026-12-01T12:03:10Z');
    counts.count(churn, 413, 'REQUEST.TOO_LARGE', now);
    const first = counts.reports(now);
    counts.count(churn, 413, 'REQUEST.TOO_LARGE', now); // arrives while the first report is being published
    first[0]!.settle();
    expect(counts.pending).toBe(true);
    const [second] = counts.reports(now);
    expect(second!.outcomes).toEqual([['2026-12-01T12:03:00.000Z', 413, 'REQUEST.TOO_LARGE', 2]]);
    second!.settle();
    expect(counts.pending).toBe(false);
    expect(counts.reports(now)).toEqual([]);
  });

  it('keeps model versions apart and forgets minutes long reported', () => {
    const counts = new OutcomeCounts();
    const now = at('2026-12-01T12:00:00Z');
    counts.count(churn, 400, 'X', now);
    counts.count({ ...churn, version: 4, source: 'shadow' }, 400, 'X', now);
    const reports = counts.reports(now);
    expect(reports.map((report) => [report.version, report.source])).toEqual([
      [3, 'online'],
      [4, 'shadow'],
    ]);
    for (const report of reports) report.settle();
    counts.reports(now + 10 * 60_000);
    // Forgotten: a late request of that minute starts it again from one.
    counts.count(churn, 400, 'X', now);
    expect(counts.reports(now)[0]!.outcomes).toEqual([['2026-12-01T12:00:00.000Z', 400, 'X', 1]]);
  });
});
