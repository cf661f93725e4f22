import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TABLES } from '../../shared/domain/tables.js';
import { sqlReferences } from '../support/sql-references.js';

const GRAFANA = join(import.meta.dirname, '../../infra/grafana');
const DATASOURCE_TYPE = 'grafana-bigquery-datasource';

interface Target {
  refId?: string;
  rawSql?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id?: number;
  title?: string;
  type?: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
}
interface Dashboard {
  uid?: string;
  title?: string;
  panels?: Panel[];
  templating?: { list?: { name: string; type: string; query?: { rawSql?: string } | string }[] };
}

const dashboards = readdirSync(join(GRAFANA, 'dashboards'))
  .filter((file) => file.endsWith('.json'))
  .map((file) => ({ file, dashboard: JSON.parse(readFileSync(join(GRAFANA, 'dashboards', file), 'utf8')) as Dashboard }));

const datasourceYaml = readFileSync(join(GRAFANA, 'provisioning/datasources/bigquery.yaml'), 'utf8');
const provisionedUid = /^\s+uid:\s*(\S+)\s*$/m.exec(datasourceYaml)?.[1];

/** Every SQL a dashboard runs: panel targets and query variables. */
function queriesOf(dashboard: Dashboard): { where: string; sql: string }[] {
  const panels = (dashboard.panels ?? []).flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({ where: `panel "${panel.title}"`, sql: target.rawSql ?? '' })),
  );
  const variables = (dashboard.templating?.list ?? [])
    .filter((variable) => variable.type === 'query' && typeof variable.query === 'object')
    .map((variable) => ({ where: `variable $${variable.name}`, sql: (variable.query as { rawSql?: string }).rawSql ?? '' }));
  return [...panels, ...variables];
}

describe('Grafana provisioning', () => {
  it('provisions the official BigQuery data source under a fixed uid', () => {
    expect(datasourceYaml).toMatch(new RegExp(`^\\s+type:\\s*${DATASOURCE_TYPE}\\s*$`, 'm'));
    expect(provisionedUid).toBe('mlops-bigquery');
  });

  it('has dashboards with distinct uids', () => {
    expect(dashboards.length).toBeGreaterThan(0);
    const uids = dashboards.map(({ dashboard }) => dashboard.uid);
    expect(new Set(uids).size).toBe(uids.length);
  });
});

describe.each(dashboards)('dashboard $file', ({ dashboard }) => {
  it('has a uid, a title and panels that each query the provisioned data source with raw SQL', () => {
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.panels?.length).toBeGreaterThan(0);
    for (const panel of dashboard.panels ?? []) {
      expect(panel.datasource, `panel "${panel.title}"`).toEqual({ type: DATASOURCE_TYPE, uid: provisionedUid });
      expect(panel.targets?.length, `panel "${panel.title}"`).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target.rawSql?.trim(), `panel "${panel.title}"`).toBeTruthy();
        expect(target.datasource?.type).toBe(DATASOURCE_TYPE);
      }
    }
  });

  it('names only tables and columns that shared/domain/tables.ts defines', () => {
    for (const { where, sql } of queriesOf(dashboard)) {
      const references = sqlReferences(sql, TABLES);
      expect(references.tables.length, `${where} reads no mlops table`).toBeGreaterThan(0);
      expect({ where, unknownTables: references.unknownTables, unknownColumns: references.unknownColumns }).toEqual({
        where,
        unknownTables: [],
        unknownColumns: [],
      });
    }
  });
});

describe('the dashboards together', () => {
  const titles = dashboards.flatMap(({ dashboard }) => (dashboard.panels ?? []).map((panel) => panel.title?.toLowerCase() ?? ''));

  it.each([
    ['prediction volume', /volume/],
    ['latency percentiles', /p50.*p95.*p99/],
    ['error rate', /error rate/],
    ['drift per feature', /drift per feature/],
    ['performance over time', /accuracy|absolute error/],
    ['model-version timeline', /version timeline/],
  ])('show %s', (_, title) => {
    expect(titles.some((candidate) => title.test(candidate))).toBe(true);
  });
});

describe('sqlReferences', () => {
  /** A Grafana variable reference, `${name}`. */
  const variable = (name: string) => `\${${name}}`;

  it('finds tables with or without a project, and the columns used', () => {
    const projectVariable = '$' + '{project}';
    const sql = `SELECT model, COUNT(*) AS n FROM \`${projectVariable}.mlops.predictions\` AS p WHERE $__timeFilter(p.request_time) GROUP BY model`;
    const references = sqlReferences(sql, TABLES);
    expect(references.tables).toEqual(['predictions']);
    expect(references.columns.sort()).toEqual(['model', 'request_time']);
    expect(references.unknownColumns).toEqual([]);
  });

  it('reports a column the referenced tables lack and a table infra/ does not define', () => {
    expect(sqlReferences('SELECT feature FROM mlops.predictions', TABLES).unknownColumns).toEqual(['feature']);
    expect(sqlReferences('SELECT error_count FROM mlops.health', TABLES)).toMatchObject({ unknownTables: ['health'], unknownColumns: ['error_count'] });
  });

  it('ignores string literals, Grafana variables and function names', () => {
    const sql = `SELECT JSON_VALUE(outputs, '$.${variable('label_output')}') AS label_value FROM mlops.predictions WHERE model IN (${variable('model:singlequote')})`;
    expect(sqlReferences(sql, TABLES).columns.sort()).toEqual(['model', 'outputs']);
  });
});
