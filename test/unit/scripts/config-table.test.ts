import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLIENT_OPTIONS } from '../../../shared/config/client-config.js';
import { OPTIONS } from '../../../shared/config/config.js';
import { INTERNAL_ENV, SETTINGS } from '../../../shared/config/env.js';
import { MONITORING_OPTIONS } from '../../../shared/config/monitoring-config.js';
import { RETRAIN_OPTIONS } from '../../../shared/config/retrain-config.js';
import { END_MARKER, README, START_MARKER, configRows, configTable, withConfigTable } from '../../../scripts/config-table.js';

const readme = readFileSync(README, 'utf8');

/** The text between the markers. */
function between(text: string): string {
  return text.slice(text.indexOf(START_MARKER), text.indexOf(END_MARKER));
}

/** The README's table rows by variable: `| \`NAME\` | ... |` → cells. */
function readmeRows(text: string): Map<string, string[]> {
  const rows = between(text)
    .split('\n')
    .filter((line) => line.startsWith('| `'));
  return new Map(
    rows.map((line) => [
      line.split('|')[1]!.trim().replaceAll('`', ''),
      line
        .split('|')
        .slice(2, -1)
        .map((cell) => cell.trim()),
    ]),
  );
}

describe("README.md's configuration table", () => {
  it('is the table generated from the option declarations (npx tsx scripts/config-table.ts --write)', () => {
    expect(readme.split('## Configuration').length, 'README.md has one "## Configuration" section').toBe(2);
    const configuration = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1));
    expect(configuration, 'the markers sit in the Configuration section').toContain(START_MARKER);
    expect(configuration).toContain(END_MARKER);
    const generated = withConfigTable(readme);
    expect(between(readme), 'README.md is stale: run "npx tsx scripts/config-table.ts --write"').toBe(between(generated));
    expect(generated).toBe(readme);
  });

  it('documents every setting once, each with what it expects and both defaults', () => {
    const rows = readmeRows(readme);
    const declared = [...Object.values(OPTIONS), ...Object.values(MONITORING_OPTIONS), ...Object.values(RETRAIN_OPTIONS), ...Object.values(CLIENT_OPTIONS)].map(
      (spec) => spec.env,
    );
    expect(new Set(declared).size).toBe(declared.length);
    expect([...rows.keys()]).toEqual(declared);
    expect(rows.size).toBe(37);
    for (const [name, cells] of rows) expect(cells.every(Boolean), `${name} has an empty cell`).toBe(true);
    expect(rows.get('MLOPS_PROFILE')?.slice(-2)).toEqual(['`local`', '—']);
    expect(rows.get('GOOGLE_CLOUD_PROJECT')?.slice(-2)).toEqual(['`mlops-local`', 'required']);
    expect(rows.get('MLOPS_BUCKET')?.slice(-2)).toEqual(['`mlops-artifacts`', 'required']);
    expect(rows.get('MLOPS_WAREHOUSE')?.slice(-2)).toEqual(['`duckdb`', '`bigquery`']);
    expect(rows.get('MLOPS_API_KEY_HASHES')?.slice(-2)).toEqual(['none', 'none']);
    expect(rows.get('MLOPS_DRIFT_WINDOW_HOURS')?.slice(-2)).toEqual(['`24`', '`24`']);
  });

  it('leaves the internal variables out', () => {
    const rows = readmeRows(readme);
    for (const name of Object.values(INTERNAL_ENV)) expect(rows.has(name), name).toBe(false);
  });

  it('fails on a stale README: a changed default, a missing row, missing markers', () => {
    const stale = readme.replace('| `MLOPS_MAX_BATCH` ', '| `MLOPS_MAX_BATCHES` ');
    expect(stale).not.toBe(readme);
    expect(withConfigTable(stale)).not.toBe(stale);
    expect(withConfigTable(stale)).toBe(withConfigTable(readme));

    const changed = { ...SETTINGS, maxBatch: { ...SETTINGS.maxBatch, defaults: { local: '500', gcp: '1000' } } };
    expect(withConfigTable(readme, configTable(changed))).not.toBe(readme);

    const { actor: _dropped, ...fewer } = SETTINGS;
    expect(configRows(fewer)).toHaveLength(configRows().length - 1);
    expect(withConfigTable(readme, configTable(fewer))).not.toBe(readme);

    expect(() => withConfigTable(readme.replace(START_MARKER, ''))).toThrow(/config-table:start/);
  });

  it('escapes pipes and keeps the columns aligned', () => {
    const table = configTable({ odd: { ...SETTINGS.maxBatch, description: 'a | b' } });
    const lines = table.split('\n');
    expect(lines[2]).toContain('a \\| b');
    expect(new Set(lines.map((line) => line.length)).size).toBe(1);
  });
});
