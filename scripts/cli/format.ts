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
