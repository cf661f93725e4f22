import type { BenchContext } from './context.js';
import type { Target } from './processes.js';
import { BUSY_CORES, count, median, othersCpu, percent, table, times } from './report.js';
import { type Case, type CaseResult, measureCases, startEntry } from './serving-entries.js';
import { startFastApi, startHandWritten } from './serving-peers.js';

/** How many times the three servers are loaded in turn. */
export const ROUNDS = 3;

/** One round: the hand-written minimum, the serving revision and the FastAPI peer, loaded one after another. */
export interface Round {
  handWritten: CaseResult;
  revision: CaseResult;
  fastApi: CaseResult | undefined;
}

/** The revision's ratios, each the median over the quiet rounds of that round's own ratio. */
export interface RoundRatios {
  rounds: Round[];
  /** The rounds the medians are taken over: those where others used at most BUSY_CORES, or every round when none did. */
  judged: Round[];
  shareOfHandWritten: number;
  timesFastApi: number | undefined;
}

/**
 * The hand-written minimum, the revision and the FastAPI peer, all three started once and then loaded in
 * turn, ROUNDS times. A ratio taken within one round compares servers measured seconds apart, so a slow
 * spell of the shared machine moves both sides of it; the median of the rounds' ratios is what the
 * throughput targets are judged on.
 */
export async function measureRounds(context: BenchContext, item: Case): Promise<RoundRatios> {
  const targets: Target[] = [];
  const started = async <T extends Target | undefined>(target: Promise<T>): Promise<T> => {
    const ready = await target;
    if (ready) targets.push(ready);
    return ready;
  };
  try {
    const handWritten = await started(startHandWritten());
    const revision = await started(startEntry(context, 'node-server'));
    const fastApi = await started(startFastApi());
    const rounds: Round[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const [handWrittenResult] = await measureCases(context, 'hand-written', handWritten, [item]);
      const [revisionResult] = await measureCases(context, 'node-server', revision, [item]);
      const [fastApiResult] = fastApi ? await measureCases(context, 'fastapi', fastApi, [item]) : [undefined];
      rounds.push({ handWritten: handWrittenResult!, revision: revisionResult!, fastApi: fastApiResult });
    }
    return ratiosOf(rounds);
  } finally {
    await Promise.all(targets.map((target) => target.stop()));
  }
}

/** The most others' CPU during any run of a round. */
export const roundCores = (round: Round): number =>
  Math.max(...[round.handWritten, round.revision, round.fastApi].filter((result) => result !== undefined).map((result) => result.othersCores));

/**
 * The median of each ratio over the quiet rounds (all of them when none was quiet, so that a busy
 * machine shows as busy); undefined for FastAPI when a round lacks it.
 */
export function ratiosOf(rounds: Round[]): RoundRatios {
  const quiet = rounds.filter((round) => roundCores(round) <= BUSY_CORES);
  const judged = quiet.length > 0 ? quiet : rounds;
  const fastApi = judged.every((round) => round.fastApi !== undefined);
  return {
    rounds,
    judged,
    shareOfHandWritten: median(judged.map((round) => round.revision.requestsPerSecond / round.handWritten.requestsPerSecond)),
    timesFastApi: fastApi ? median(judged.map((round) => round.revision.requestsPerSecond / round.fastApi!.requestsPerSecond)) : undefined,
  };
}

/** The judged rounds' ratios, as listed beside the median: "77%, 81%, 74%", with how many were left out as busy. */
export function roundShares(ratios: RoundRatios): string {
  return listed(ratios, (round) => percent(round.revision.requestsPerSecond / round.handWritten.requestsPerSecond));
}

/** The judged rounds' ratios to FastAPI: "7.10×, 6.80×, 7.40×". */
export function roundTimes(ratios: RoundRatios): string {
  return listed(ratios, (round) => (round.fastApi ? times(round.revision.requestsPerSecond / round.fastApi.requestsPerSecond) : 'n/a'));
}

function listed({ rounds, judged }: RoundRatios, ratio: (round: Round) => string): string {
  const busy = rounds.length - judged.length;
  return `${judged.map(ratio).join(', ')}${busy > 0 ? `; ${busy} busy round${busy > 1 ? 's' : ''} left out` : ''}`;
}

/** The rounds, one row each, then the medians the targets are judged on. */
export function roundsSection(ratios: RoundRatios): string {
  const rate = (result: CaseResult | undefined) => (result ? count(result.requestsPerSecond) : 'n/a');
  const rows = ratios.rounds.map((round, index) => [
    index + 1,
    rate(round.handWritten),
    rate(round.revision),
    rate(round.fastApi),
    percent(round.revision.requestsPerSecond / round.handWritten.requestsPerSecond),
    round.fastApi ? times(round.revision.requestsPerSecond / round.fastApi.requestsPerSecond) : 'n/a',
    othersCpu(roundCores(round)),
  ]);
  rows.push(['median', '', '', '', percent(ratios.shareOfHandWritten), ratios.timesFastApi === undefined ? 'n/a' : times(ratios.timesFastApi), '']);
  return [
    '### Alternating rounds',
    '',
    `The table above loads each server once, minutes apart; on a shared VM the machine's speed drifts over minutes, so a ratio of two such runs moves by tens of percent between runs. Here the hand-written minimum, the revision and the FastAPI peer are started together (the two idle ones take no CPU) and loaded one after another, ${ratios.rounds.length} times over, under the same settings. Each round's ratios compare runs seconds apart, and the throughput targets are judged on the median of the rounds' ratios; a round in which others used more than ${BUSY_CORES} of a core is left out unless every round was.`,
    '',
    table(['round', 'hand-written req/s', 'revision req/s', 'FastAPI req/s', 'of hand-written', 'of FastAPI', 'others’ CPU (most)'], rows),
  ].join('\n');
}
