import type { CompactOutcome, PredictionSource } from '../domain/events.js';

/** One minute of one model version's refused and failed requests, as one instance counted them. */
interface MinuteCounts {
  model: string;
  version: number;
  source: PredictionSource;
  minute: string;
  /** `${status} ${code}` to its running count. */
  counts: Map<string, number>;
  /** Bumped on every count, so a report sent while more requests arrived does not settle the minute. */
  changes: number;
  reported: number;
}

/** A minute's counts to report: the message's label, its outcomes and what settles it once the topic took it. */
export interface OutcomeReport {
  model: string;
  version: number;
  source: PredictionSource;
  outcomes: CompactOutcome[];
  settle(): void;
}

/** Minutes kept after their last report, so a late request of that minute still adds to its count. */
const KEEP_MINUTES = 5;
const MINUTE_MS = 60_000;

/**
 * The running counts of refused and failed requests of one serving instance, by model, version,
 * minute (UTC), status and code: never the requests themselves. Each report of a minute holds all
 * its counts so far, and the warehouse keeps the latest, so reporting twice changes nothing.
 */
export class OutcomeCounts {
  private readonly minutes = new Map<string, MinuteCounts>();

  /** Counts one answer of `status` with error `code`, in the minute of `nowMs`. */
  count(label: { model: string; version: number; source: PredictionSource }, status: number, code: string, nowMs: number): void {
    const minute = new Date(Math.floor(nowMs / MINUTE_MS) * MINUTE_MS).toISOString();
    const key = `${label.model}\u0000${label.version}\u0000${label.source}\u0000${minute}`;
    let entry = this.minutes.get(key);
    if (!entry) {
      entry = { ...label, minute, counts: new Map(), changes: 0, reported: 0 };
      this.minutes.set(key, entry);
    }
    const outcome = `${status} ${code}`;
    entry.counts.set(outcome, (entry.counts.get(outcome) ?? 0) + 1);
    entry.changes++;
  }

  /** True when some minute changed since its last report the topic took. */
  get pending(): boolean {
    for (const entry of this.minutes.values()) if (entry.changes !== entry.reported) return true;
    return false;
  }

  /** The minutes that changed since they were last reported, one report per model version and source; forgets minutes long reported. */
  reports(nowMs: number): OutcomeReport[] {
    const byLabel = new Map<string, { report: OutcomeReport; snapshots: [MinuteCounts, number][] }>();
    for (const [key, entry] of this.minutes) {
      if (entry.changes === entry.reported) {
        if (Date.parse(entry.minute) < nowMs - KEEP_MINUTES * MINUTE_MS) this.minutes.delete(key);
        continue;
      }
      const labelKey = `${entry.model}\u0000${entry.version}\u0000${entry.source}`;
      let group = byLabel.get(labelKey);
      if (!group) {
        const snapshots: [MinuteCounts, number][] = [];
        const settle = () => {
          for (const [minute, changes] of snapshots) minute.reported = Math.max(minute.reported, changes);
        };
        group = { report: { model: entry.model, version: entry.version, source: entry.source, outcomes: [], settle }, snapshots };
        byLabel.set(labelKey, group);
      }
      for (const [outcome, count] of entry.counts) group.report.outcomes.push(compactOutcome(entry.minute, outcome, count));
      group.snapshots.push([entry, entry.changes]);
    }
    return [...byLabel.values()].map((group) => group.report);
  }
}

function compactOutcome(minute: string, outcome: string, count: number): CompactOutcome {
  const space = outcome.indexOf(' ');
  return [minute, Number(outcome.slice(0, space)), outcome.slice(space + 1), count];
}
