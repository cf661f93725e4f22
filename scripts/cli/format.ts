/** Renders rows as an aligned text table for people; scripts use --json instead. */
export function table(headers: string[], rows: (string | number | undefined | null)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map((cell) => (cell === undefined || cell === null ? '' : String(cell))))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  return cells
    .map((row) =>
      row
        .map((cell, column) => (cell ?? '').padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `k=v` pairs from repeated flags, with a clear error for a pair without `=`. */
export function keyValues(pairs: string[] | undefined, flag: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--${flag} expects key=value, got ${JSON.stringify(pair)}.`);
    result[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return result;
}

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {}

/** A failure the command has already reported (nothing accepted, unusable input, a required check missing): exit code 1. */
export class ReportedFailure extends Error {}

/** Refused lines listed before the rest are only counted. */
export const LISTED_REFUSALS = 20;

/** Prints the first refused lines with their reasons, then how many more there were. */
export function printRefusals(print: (text: string) => void, refusals: { line: number; reason: string }[], total = refusals.length): void {
  for (const refusal of refusals.slice(0, LISTED_REFUSALS)) print(`  line ${refusal.line}: ${refusal.reason}`);
  const unlisted = total - Math.min(refusals.length, LISTED_REFUSALS);
  if (unlisted > 0) print(`  ... and ${unlisted} more refused line${unlisted === 1 ? '' : 's'}`);
}

/** The known name closest to a mistyped one (at most a third of its letters off), for "did you mean". */
export function closestName(typed: string, known: string[]): string | undefined {
  const scored = known.map((name) => ({ name, distance: editDistance(typed, name) }));
  const best = scored.sort((a, b) => a.distance - b.distance)[0];
  return best && best.distance <= Math.max(1, Math.floor(typed.length / 3)) ? best.name : undefined;
}

/** Levenshtein distance, two rows at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

/** Aliases as `production=3, staging=4`. */
export function formatAliases(aliases: Record<string, number>): string {
  return Object.entries(aliases)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([alias, version]) => `${alias}=${version}`)
    .join(', ');
}

/** A byte count for people. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
