import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { DASHBOARDS, dashboardJson } from '../infra/grafana/dashboards.js';

// `npx tsx scripts/grafana-dashboards.ts`: writes infra/grafana/dashboards/*.json from the builders in
// infra/grafana/dashboards.ts, formatted as `biome check` wants them. With --check it writes nothing and
// exits 1 when a file is missing, differs or is not built by any builder (test/unit/infra/grafana/grafana.test.ts checks the same).
const ROOT = join(import.meta.dirname, '..');
const DIRECTORY = join(ROOT, 'infra/grafana/dashboards');
const check = process.argv.includes('--check');
if (process.argv.slice(2).some((arg) => arg !== '--check')) {
  console.log('npx tsx scripts/grafana-dashboards.ts [--check]: generate infra/grafana/dashboards/*.json from infra/grafana/dashboards.ts.');
  process.exit(process.argv.includes('--help') ? 0 : 2);
}

const biome = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome');
/** The text biome formats `json` to, with the project's biome.json, as the file `path`. */
function biomeFormatted(path: string, json: string): string {
  return execFileSync(process.execPath, [biome, 'format', `--stdin-file-path=${relative(ROOT, path)}`], { cwd: ROOT, input: json, encoding: 'utf8' });
}

const readOrNull = (path: string): string | null => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
};

const stale: string[] = [];
for (const [file, build] of Object.entries(DASHBOARDS)) {
  const path = join(DIRECTORY, file);
  const text = biomeFormatted(path, JSON.stringify(dashboardJson(build), null, 2) + '\n');
  if (readOrNull(path) === text) continue;
  stale.push(file);
  if (!check) {
    writeFileSync(path, text);
    console.log(`wrote ${relative(ROOT, path)}`);
  }
}
const unbuilt = readdirSync(DIRECTORY).filter((file) => file.endsWith('.json') && !(file in DASHBOARDS));
for (const file of unbuilt) console.error(`infra/grafana/dashboards/${file} is built by nothing in infra/grafana/dashboards.ts: add a builder or delete it.`);

if (check && stale.length > 0) console.error(`Out of date (run npx tsx scripts/grafana-dashboards.ts): ${stale.join(', ')}`);
if (!check && stale.length === 0) console.log('Dashboards are up to date.');
process.exit((check && stale.length > 0) || unbuilt.length > 0 ? 1 : 0);
