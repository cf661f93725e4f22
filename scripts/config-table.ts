import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETTINGS } from '../shared/config/env.js';
import { type OptionSpec, PROFILES, type Profile } from '../shared/config/options.js';

/**
 * `npx tsx scripts/config-table.ts [--write | --check]`: the README's configuration table, generated
 * from the option declarations in shared/config. Prints it; `--write` replaces the part of README.md
 * between the markers; `--check` exits 1 when README.md's table is not the generated one.
 */

export const README = join(import.meta.dirname, '..', 'README.md');
export const START_MARKER = '<!-- config-table:start -->';
export const END_MARKER = '<!-- config-table:end -->';
const NOTICE = '<!-- Generated from shared/config by `npm run docs:config`: edit the declarations there, not this table. -->';

const HEADER = ['variable', 'what it sets', 'expects', ...PROFILES.map((profile) => `${profile} default`)];

/** One profile's default as the table shows it: the value, "none" for an empty one, "required" or "—" without one. */
function defaultCell(spec: OptionSpec<unknown>, profile: Profile): string {
  const value = spec.defaults[profile];
  if (value === undefined) return spec.required ? 'required' : '—';
  return value === '' ? 'none' : `\`${value}\``;
}

function escapeCell(text: string): string {
  return text.replaceAll('|', '\\|');
}

/** The rows of the table, one per setting, in declaration order. */
export function configRows(settings: Record<string, OptionSpec<unknown>> = SETTINGS): string[][] {
  return Object.values(settings).map((spec) => [
    `\`${spec.env}\``,
    escapeCell(spec.description),
    escapeCell(spec.expects),
    ...PROFILES.map((profile) => defaultCell(spec, profile)),
  ]);
}

/** The Markdown table, its columns padded to line up as a formatter would leave them. */
export function configTable(settings: Record<string, OptionSpec<unknown>> = SETTINGS): string {
  const rows = [HEADER, ...configRows(settings)];
  const widths = HEADER.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(HEADER), line(widths.map((width) => '-'.repeat(width))), ...rows.slice(1).map(line)].join('\n');
}

/** `readme` with the text between the markers replaced by the generated table; throws when the markers are missing. */
export function withConfigTable(readme: string, table = configTable()): string {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start === -1 || end < start) throw new Error(`README.md needs ${START_MARKER} and, after it, ${END_MARKER} around the configuration table.`);
  return `${readme.slice(0, start + START_MARKER.length)}\n${NOTICE}\n\n${table}\n\n${readme.slice(end)}`;
}

if (process.argv[1] === import.meta.filename) {
  const mode = process.argv[2];
  if (mode === '--write' || mode === '--check') {
    const readme = readFileSync(README, 'utf8');
    const generated = withConfigTable(readme);
    if (mode === '--write') {
      if (generated !== readme) writeFileSync(README, generated);
      console.log(`${generated === readme ? 'Unchanged' : 'Rewrote'}: the configuration table of README.md (${Object.keys(SETTINGS).length} settings).`);
    } else if (generated !== readme) {
      console.error('README.md\'s configuration table is stale: run "npx tsx scripts/config-table.ts --write".');
      process.exit(1);
    }
  } else if (mode === undefined) {
    console.log(configTable());
  } else {
    console.error('Usage: npx tsx scripts/config-table.ts [--write | --check]');
    process.exit(2);
  }
}
