import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as bigquery from '@grafana/grafana-foundation-sdk/bigquery';
import {
  DashboardCursorSync,
  type DashboardLink,
  type DataQuery,
  type DataSourceRef,
  defaultDashboard,
  type FieldConfig,
  type FieldConfigSource,
  GraphDrawStyle,
  type GridPos,
  LegendDisplayMode,
  type LegendPlacement,
  type Panel,
  type Dashboard as SchemaDashboard,
  SortOrder,
  type StackingConfig,
  StackingMode,
  type TableFooterOptions,
  TooltipDisplayMode,
  VariableFormatID,
  VariableHide,
  type VariableModel,
  type VariableOption,
  VariableRefresh,
  VariableSort,
  type VariableType,
  type VizLegendOptions,
  type VizTooltipOptions,
} from '@grafana/schema';
import type {
  FieldConfig as TableFieldConfig,
  Options as TableOptions,
} from '@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen.js';
import type {
  Options as TimeSeriesOptions,
  FieldConfig as TimeSeriesFieldConfig,
} from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen.js';
import { describe, expect, it } from 'vitest';
import { DASHBOARDS, dashboardJson } from '../../../../infra/grafana/dashboards.js';
import modelQualityJson from '../../../../infra/grafana/dashboards/mlops-model-quality.json' with { type: 'json' };
import servingJson from '../../../../infra/grafana/dashboards/mlops-serving.json' with { type: 'json' };
import { TABLES } from '../../../../shared/domain/tables.js';
import { sqlReferences } from '../../../support/sql-references.js';
import { ROOT } from '../../../support/paths.js';

const GRAFANA = join(ROOT, 'infra/grafana');
const DATASOURCE_TYPE = 'grafana-bigquery-datasource';
const REGENERATE = 'npx tsx scripts/grafana-dashboards.ts';

/** What TypeScript makes of a JSON file: string, number and boolean literals widen (so do enums, which JSON holds as their values). */
type AsJson<T> = T extends string
  ? string
  : T extends number
    ? number
    : T extends boolean
      ? boolean
      : T extends readonly (infer Item)[]
        ? AsJson<Item>[]
        : T extends object
          ? { [K in keyof T]: AsJson<T[K]> }
          : T;

/**
 * Every committed dashboard file, checked by `tsc --noEmit -p .` against @grafana/schema's Dashboard:
 * a field of the wrong type, or a required one missing (a panel without `type`, a gridPos without `w`,
 * a variable without `name`...), fails the type check.
 */
const TYPED_FILES = {
  'mlops-serving.json': servingJson,
  'mlops-model-quality.json': modelQualityJson,
} satisfies Record<string, AsJson<SchemaDashboard>>;

interface Target {
  refId?: string;
  rawSql?: string;
  datasource?: { type?: string; uid?: string };
  [field: string]: unknown;
}
interface PanelJson {
  id?: number;
  title?: string;
  description?: string;
  type?: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: GridPos;
  fieldConfig?: { defaults?: { custom?: Record<string, unknown>; [field: string]: unknown }; overrides?: unknown[] };
  options?: Record<string, unknown>;
  targets?: Target[];
}
interface VariableJson {
  name: string;
  type: string;
  datasource?: { type?: string; uid?: string };
  query?: Record<string, unknown> | string;
  current?: unknown;
  refresh?: number;
  sort?: number;
  hide?: number;
}
interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  graphTooltip?: number;
  links?: unknown[];
  panels?: PanelJson[];
  templating?: { list?: VariableJson[] };
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

// ---- The fields of Grafana's schema. Each list is pinned to its @grafana/schema type by `satisfies`:
// tsc fails when a list misses a field of the type, names one it lacks, or calls a required field optional.

/** For each field of T, whether T requires it. */
type Presence<T> = { [K in keyof T]-?: Record<never, never> extends Pick<T, K> ? 'optional' : 'required' };
type Shape = Readonly<Record<string, 'optional' | 'required'>>;

const DASHBOARD = {
  annotations: 'optional',
  description: 'optional',
  editable: 'optional',
  fiscalYearStartMonth: 'optional',
  gnetId: 'optional',
  graphTooltip: 'optional',
  id: 'optional',
  links: 'optional',
  liveNow: 'optional',
  panels: 'optional',
  preload: 'optional',
  refresh: 'optional',
  revision: 'optional',
  schemaVersion: 'required',
  snapshot: 'optional',
  tags: 'optional',
  templating: 'optional',
  time: 'optional',
  timepicker: 'optional',
  timezone: 'optional',
  title: 'optional',
  uid: 'optional',
  version: 'optional',
  weekStart: 'optional',
} as const satisfies Presence<SchemaDashboard>;

const LINK = {
  asDropdown: 'required',
  icon: 'required',
  includeVars: 'required',
  keepTime: 'required',
  tags: 'required',
  targetBlank: 'required',
  title: 'required',
  tooltip: 'required',
  type: 'required',
  url: 'optional',
} as const satisfies Presence<DashboardLink>;

const VARIABLE = {
  allValue: 'optional',
  allowCustomValue: 'optional',
  current: 'optional',
  datasource: 'optional',
  description: 'optional',
  hide: 'optional',
  includeAll: 'optional',
  label: 'optional',
  multi: 'optional',
  name: 'required',
  options: 'optional',
  query: 'optional',
  refresh: 'optional',
  regex: 'optional',
  skipUrlSync: 'optional',
  sort: 'optional',
  type: 'required',
} as const satisfies Presence<VariableModel>;

const VARIABLE_OPTION = { selected: 'optional', text: 'required', value: 'required' } as const satisfies Presence<VariableOption>;

const PANEL = {
  cacheTimeout: 'optional',
  datasource: 'optional',
  description: 'optional',
  fieldConfig: 'optional',
  gridPos: 'optional',
  hideTimeOverride: 'optional',
  id: 'optional',
  interval: 'optional',
  libraryPanel: 'optional',
  links: 'optional',
  maxDataPoints: 'optional',
  maxPerRow: 'optional',
  options: 'optional',
  pluginVersion: 'optional',
  queryCachingTTL: 'optional',
  repeat: 'optional',
  repeatDirection: 'optional',
  targets: 'optional',
  timeFrom: 'optional',
  timeShift: 'optional',
  title: 'optional',
  transformations: 'optional',
  transparent: 'optional',
  type: 'required',
} as const satisfies Presence<Panel>;

const GRID_POS = { h: 'required', static: 'optional', w: 'required', x: 'required', y: 'required' } as const satisfies Presence<GridPos>;
const DATASOURCE_REF = { apiVersion: 'optional', type: 'optional', uid: 'optional' } as const satisfies Presence<DataSourceRef>;
const FIELD_CONFIG_SOURCE = { defaults: 'required', overrides: 'required' } as const satisfies Presence<FieldConfigSource>;

const FIELD_CONFIG = {
  color: 'optional',
  custom: 'optional',
  decimals: 'optional',
  description: 'optional',
  displayName: 'optional',
  displayNameFromDS: 'optional',
  filterable: 'optional',
  links: 'optional',
  mappings: 'optional',
  max: 'optional',
  min: 'optional',
  noValue: 'optional',
  path: 'optional',
  thresholds: 'optional',
  unit: 'optional',
  writeable: 'optional',
} as const satisfies Presence<FieldConfig>;

/**
 * A query of the BigQuery data source. BigQuery is an external plugin, so @grafana/schema has no type for
 * its query; the foundation SDK's (from the plugin's schema) is used, on top of the DataQuery every query is.
 */
type BigQueryQuery = Omit<bigquery.Dataquery, '_implementsDataqueryVariant'> & DataQuery;
const BIGQUERY_QUERY = {
  convertToUTC: 'optional',
  dataset: 'optional',
  datasource: 'optional',
  editorMode: 'optional',
  format: 'required',
  hide: 'optional',
  key: 'optional',
  location: 'optional',
  partitioned: 'optional',
  partitionedField: 'optional',
  project: 'optional',
  queryPriority: 'optional',
  queryType: 'optional',
  rawQuery: 'optional',
  rawSql: 'required',
  refId: 'required',
  sharded: 'optional',
  sql: 'optional',
  table: 'optional',
  timeShift: 'optional',
} as const satisfies Presence<BigQueryQuery>;

const LEGEND = {
  asTable: 'optional',
  calcs: 'required',
  displayMode: 'required',
  isVisible: 'optional',
  placement: 'required',
  showLegend: 'required',
  sortBy: 'optional',
  sortDesc: 'optional',
  width: 'optional',
} as const satisfies Presence<VizLegendOptions>;

const TOOLTIP = {
  hideZeros: 'optional',
  maxHeight: 'optional',
  maxWidth: 'optional',
  mode: 'required',
  sort: 'required',
} as const satisfies Presence<VizTooltipOptions>;
const STACKING = { group: 'optional', mode: 'optional' } as const satisfies Presence<StackingConfig>;
const TABLE_FOOTER = {
  countRows: 'optional',
  enablePagination: 'optional',
  fields: 'optional',
  reducer: 'required',
  show: 'required',
} as const satisfies Presence<TableFooterOptions>;

/** A panel plugin: the shape of its options and of its field config's `custom`, from its panelcfg in @grafana/schema. */
interface PanelKind {
  options: Shape;
  custom: Shape;
  /** Shapes of the objects inside options and custom, by field. */
  nested: Record<string, Shape>;
}

/** The core panel plugins the dashboards may use, by plugin id. A new kind needs its panelcfg types here. */
const PANEL_KINDS: Record<string, PanelKind> = {
  timeseries: {
    options: { legend: 'required', orientation: 'optional', timezone: 'optional', tooltip: 'required' } as const satisfies Presence<TimeSeriesOptions>,
    custom: {
      axisBorderShow: 'optional',
      axisCenteredZero: 'optional',
      axisColorMode: 'optional',
      axisGridShow: 'optional',
      axisLabel: 'optional',
      axisPlacement: 'optional',
      axisSoftMax: 'optional',
      axisSoftMin: 'optional',
      axisWidth: 'optional',
      barAlignment: 'optional',
      barMaxWidth: 'optional',
      barWidthFactor: 'optional',
      drawStyle: 'optional',
      fillBelowTo: 'optional',
      fillColor: 'optional',
      fillOpacity: 'optional',
      gradientMode: 'optional',
      hideFrom: 'optional',
      insertNulls: 'optional',
      lineColor: 'optional',
      lineInterpolation: 'optional',
      lineStyle: 'optional',
      lineWidth: 'optional',
      pointColor: 'optional',
      pointSize: 'optional',
      pointSymbol: 'optional',
      scaleDistribution: 'optional',
      showPoints: 'optional',
      spanNulls: 'optional',
      stacking: 'optional',
      thresholdsStyle: 'optional',
      transform: 'optional',
    } as const satisfies Presence<TimeSeriesFieldConfig>,
    nested: { legend: LEGEND, tooltip: TOOLTIP, stacking: STACKING },
  },
  table: {
    options: {
      cellHeight: 'optional',
      footer: 'optional',
      frameIndex: 'required',
      showHeader: 'required',
      showTypeIcons: 'optional',
      sortBy: 'optional',
    } as const satisfies Presence<TableOptions>,
    custom: {
      align: 'required',
      cellOptions: 'required',
      displayMode: 'optional',
      filterable: 'optional',
      hidden: 'optional',
      hideHeader: 'optional',
      inspect: 'required',
      minWidth: 'optional',
      width: 'optional',
    } as const satisfies Presence<TableFieldConfig>,
    nested: { footer: TABLE_FOOTER },
  },
};

const VARIABLE_TYPES = Object.keys({
  adhoc: true,
  constant: true,
  custom: true,
  datasource: true,
  groupby: true,
  interval: true,
  query: true,
  snapshot: true,
  system: true,
  textbox: true,
} satisfies Record<VariableType, true>);
const LEGEND_PLACEMENTS = Object.keys({ bottom: true, right: true } satisfies Record<LegendPlacement, true>);

/** Values of a TypeScript enum object (a numeric enum also maps its values back to its names). */
const valuesOf = (enumObject: object): unknown[] =>
  Object.values(enumObject).filter((value) => typeof enumObject[value as keyof typeof enumObject] !== 'number');

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Fields of `value` the shape lacks, and fields it requires that `value` lacks. */
function shapeProblems(where: string, value: unknown, shape: Shape): string[] {
  if (!isObject(value)) return [`${where} is not an object`];
  const unknownFields = Object.keys(value)
    .filter((field) => !(field in shape))
    .map((field) => `${where}.${field} is not in Grafana's schema`);
  const missing = Object.entries(shape)
    .filter(([field, presence]) => presence === 'required' && !(field in value))
    .map(([field]) => `${where}.${field} is required`);
  return [...unknownFields, ...missing];
}

/** Every field of the dashboard, its links, variables, panels, queries and panel options that Grafana's schema does not define or requires and is missing. */
function schemaProblems(dashboard: Dashboard): string[] {
  const problems = shapeProblems('dashboard', dashboard, DASHBOARD);
  for (const [index, link] of (dashboard.links ?? []).entries()) problems.push(...shapeProblems(`links[${index}]`, link, LINK));
  for (const variable of dashboard.templating?.list ?? []) {
    const where = `variable $${variable.name}`;
    problems.push(...shapeProblems(where, variable, VARIABLE));
    if (variable.datasource) problems.push(...shapeProblems(`${where}.datasource`, variable.datasource, DATASOURCE_REF));
    if (variable.current) problems.push(...shapeProblems(`${where}.current`, variable.current, VARIABLE_OPTION));
    if (isObject(variable.query)) problems.push(...shapeProblems(`${where}.query`, variable.query, BIGQUERY_QUERY));
  }
  for (const panel of dashboard.panels ?? []) {
    const where = `panel "${panel.title}"`;
    problems.push(...shapeProblems(where, panel, PANEL));
    if (panel.gridPos) problems.push(...shapeProblems(`${where}.gridPos`, panel.gridPos, GRID_POS));
    if (panel.datasource) problems.push(...shapeProblems(`${where}.datasource`, panel.datasource, DATASOURCE_REF));
    for (const target of panel.targets ?? []) {
      problems.push(...shapeProblems(`${where}.targets[${target.refId}]`, target, BIGQUERY_QUERY));
      if (target.datasource) problems.push(...shapeProblems(`${where}.targets[${target.refId}].datasource`, target.datasource, DATASOURCE_REF));
    }
    const kind = PANEL_KINDS[panel.type ?? ''];
    if (!kind) continue; // reported by the panel type test
    if (panel.fieldConfig) {
      problems.push(...shapeProblems(`${where}.fieldConfig`, panel.fieldConfig, FIELD_CONFIG_SOURCE));
      const defaults = panel.fieldConfig.defaults;
      problems.push(...shapeProblems(`${where}.fieldConfig.defaults`, defaults, FIELD_CONFIG));
      if (defaults?.custom) problems.push(...nestedProblems(`${where}.fieldConfig.defaults.custom`, defaults.custom, kind.custom, kind.nested));
    }
    if (panel.options) problems.push(...nestedProblems(`${where}.options`, panel.options, kind.options, kind.nested));
  }
  return problems;
}

function nestedProblems(where: string, value: Record<string, unknown>, shape: Shape, nested: Record<string, Shape>): string[] {
  return [
    ...shapeProblems(where, value, shape),
    ...Object.entries(nested)
      .filter(([field]) => field in shape && value[field] !== undefined)
      .flatMap(([field, fieldShape]) => shapeProblems(`${where}.${field}`, value[field], fieldShape)),
  ];
}

/** Values outside what Grafana's enums (and the BigQuery plugin's) allow. */
function valueProblems(dashboard: Dashboard): string[] {
  const problems: string[] = [];
  const expectOneOf = (where: string, value: unknown, allowed: unknown[]) => {
    if (value !== undefined && !allowed.includes(value)) problems.push(`${where} is ${JSON.stringify(value)}, not one of ${JSON.stringify(allowed)}`);
  };
  expectOneOf('dashboard.graphTooltip', dashboard.graphTooltip, valuesOf(DashboardCursorSync));
  for (const variable of dashboard.templating?.list ?? []) {
    const where = `variable $${variable.name}`;
    expectOneOf(`${where}.type`, variable.type, VARIABLE_TYPES);
    expectOneOf(`${where}.refresh`, variable.refresh, valuesOf(VariableRefresh));
    expectOneOf(`${where}.sort`, variable.sort, valuesOf(VariableSort));
    expectOneOf(`${where}.hide`, variable.hide, valuesOf(VariableHide));
  }
  for (const panel of dashboard.panels ?? []) {
    const where = `panel "${panel.title}"`;
    const legend = panel.options?.legend as Partial<VizLegendOptions> | undefined;
    const tooltip = panel.options?.tooltip as Partial<VizTooltipOptions> | undefined;
    expectOneOf(`${where}.options.legend.displayMode`, legend?.displayMode, valuesOf(LegendDisplayMode));
    expectOneOf(`${where}.options.legend.placement`, legend?.placement, LEGEND_PLACEMENTS);
    expectOneOf(`${where}.options.tooltip.mode`, tooltip?.mode, valuesOf(TooltipDisplayMode));
    expectOneOf(`${where}.options.tooltip.sort`, tooltip?.sort, valuesOf(SortOrder));
    const custom = panel.fieldConfig?.defaults?.custom as { drawStyle?: unknown; fillOpacity?: number; stacking?: { mode?: unknown } } | undefined;
    expectOneOf(`${where}.fieldConfig.defaults.custom.drawStyle`, custom?.drawStyle, valuesOf(GraphDrawStyle));
    expectOneOf(`${where}.fieldConfig.defaults.custom.stacking.mode`, custom?.stacking?.mode, valuesOf(StackingMode));
    if (custom?.fillOpacity !== undefined && !(custom.fillOpacity >= 0 && custom.fillOpacity <= 100)) problems.push(`${where} fillOpacity is not 0-100`);
    for (const target of panel.targets ?? []) {
      expectOneOf(`${where}.targets[${target.refId}].format`, target.format, valuesOf(bigquery.QueryFormat));
      expectOneOf(`${where}.targets[${target.refId}].editorMode`, target.editorMode, valuesOf(bigquery.EditorMode));
    }
  }
  return problems;
}

/** Where text names a variable: `$name`, `${name}`, `${name:format}` or `[[name]]`. */
function variableUses(text: string): { name: string; format?: string }[] {
  return [...text.matchAll(/\$\{(\w+)(?::([\w-]+))?\}|\[\[(\w+)(?::([\w-]+))?\]\]|\$(\w+)/g)].map((match) => ({
    name: (match[1] ?? match[3] ?? match[5])!,
    format: match[2] ?? match[4],
  }));
}

/** What a dashboard interpolates: its queries, panel titles and descriptions. */
function interpolatedTexts(dashboard: Dashboard): { where: string; text: string }[] {
  return [
    ...queriesOf(dashboard).map(({ where, sql }) => ({ where, text: sql })),
    ...(dashboard.panels ?? []).map((panel) => ({ where: `panel "${panel.title}" title and description`, text: `${panel.title} ${panel.description ?? ''}` })),
  ];
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

  it(`has exactly the files infra/grafana/dashboards.ts builds, each type-checked here (${REGENERATE} writes them)`, () => {
    const files = dashboards.map(({ file }) => file).sort();
    expect(files).toEqual(Object.keys(DASHBOARDS).sort());
    expect(files).toEqual(Object.keys(TYPED_FILES).sort());
  });
});

describe.each(dashboards)('dashboard $file', ({ file, dashboard }) => {
  it(`is what infra/grafana/dashboards.ts builds, not edited by hand (regenerate with ${REGENERATE})`, () => {
    const build = DASHBOARDS[file];
    expect(build, `no builder for ${file}`).toBeDefined();
    expect(dashboard).toEqual(dashboardJson(build!));
  });

  it('has a uid, a title and panels that each query the provisioned data source with raw SQL', () => {
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.panels?.length).toBeGreaterThan(0);
    const provisioned = { type: DATASOURCE_TYPE, uid: provisionedUid };
    for (const panel of dashboard.panels ?? []) {
      expect(panel.datasource, `panel "${panel.title}"`).toEqual(provisioned);
      expect(panel.targets?.length, `panel "${panel.title}"`).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target.rawSql?.trim(), `panel "${panel.title}"`).toBeTruthy();
        expect(target.datasource, `panel "${panel.title}" query ${target.refId}`).toEqual(provisioned);
      }
    }
    for (const variable of (dashboard.templating?.list ?? []).filter(({ type }) => type === 'query')) {
      expect(variable.datasource, `variable $${variable.name}`).toEqual(provisioned);
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

  it(`is at the schema version of @grafana/schema (${defaultDashboard.schemaVersion})`, () => {
    expect(dashboard.schemaVersion).toBe(defaultDashboard.schemaVersion);
  });

  it("has only fields Grafana's schema defines, and every field it requires", () => {
    expect(schemaProblems(dashboard)).toEqual([]);
  });

  it('uses core panel types, with option values their schema allows', () => {
    for (const panel of dashboard.panels ?? []) {
      expect(Object.keys(PANEL_KINDS), `panel "${panel.title}" type`).toContain(panel.type);
    }
    expect(valueProblems(dashboard)).toEqual([]);
  });

  it('places panels on the 24-column grid without overlaps, under distinct ids, with distinct query refIds', () => {
    const panels = dashboard.panels ?? [];
    for (const { title, gridPos } of panels) {
      const { x = -1, y = -1, w = 0, h = 0 } = gridPos ?? {};
      expect([x, y, w, h].every(Number.isInteger) && x >= 0 && y >= 0 && w >= 1 && h >= 1, `panel "${title}" gridPos ${JSON.stringify(gridPos)}`).toBe(true);
      expect(x + w, `panel "${title}" ends past column 24`).toBeLessThanOrEqual(24);
    }
    for (const [index, a] of panels.entries()) {
      for (const b of panels.slice(index + 1)) {
        const [p, q] = [a.gridPos!, b.gridPos!];
        const overlap = p.x < q.x + q.w && q.x < p.x + p.w && p.y < q.y + q.h && q.y < p.y + p.h;
        expect(overlap, `panels "${a.title}" and "${b.title}" overlap`).toBe(false);
      }
    }
    const ids = panels.map(({ id }) => id);
    expect(
      ids.every((id) => Number.isInteger(id) && id! > 0),
      `panel ids ${ids}`,
    ).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      const refIds = (panel.targets ?? []).map(({ refId }) => refId);
      expect(new Set(refIds).size, `panel "${panel.title}" refIds ${refIds}`).toBe(refIds.length);
    }
  });

  it('refers only to variables it defines (or Grafana built-ins), in formats Grafana knows, and uses every variable', () => {
    const defined = (dashboard.templating?.list ?? []).map(({ name }) => name);
    expect(new Set(defined).size, `variables ${defined}`).toBe(defined.length);
    const used = new Set<string>();
    for (const { where, text } of interpolatedTexts(dashboard)) {
      for (const { name, format } of variableUses(text)) {
        if (name.startsWith('__')) continue; // $__timeFilter, $__interval, $__all...: Grafana's own
        used.add(name);
        expect(defined, `${where} names $${name}`).toContain(name);
        if (format) expect(valuesOf(VariableFormatID), `${where}: \${${name}:${format}}`).toContain(format);
      }
    }
    expect(defined.filter((name) => !used.has(name))).toEqual([]);
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

describe('the schema checks', () => {
  const [first] = dashboards;
  const broken = (edit: (dashboard: Dashboard) => void): Dashboard => {
    const copy = structuredClone(first!.dashboard);
    edit(copy);
    return copy;
  };

  it('report an option field the panel plugin does not have, and a required one missing', () => {
    const problems = schemaProblems(
      broken((dashboard) => {
        const panel = dashboard.panels!.find(({ type }) => type === 'timeseries')!;
        (panel.options!.legend as Record<string, unknown>).shape = 'round';
        delete panel.options!.tooltip;
      }),
    );
    expect(problems).toEqual([
      expect.stringMatching(/\.options\.tooltip is required$/),
      expect.stringMatching(/\.options\.legend\.shape is not in Grafana's schema$/),
    ]);
  });

  it('report an enum value Grafana does not have', () => {
    const problems = valueProblems(
      broken((dashboard) => {
        dashboard.panels!.find(({ type }) => type === 'timeseries')!.fieldConfig!.defaults!.custom = { drawStyle: 'area' };
      }),
    );
    expect(problems).toEqual([expect.stringMatching(/custom\.drawStyle is "area", not one of/)]);
  });

  it('find variables in every form Grafana interpolates', () => {
    const text = `$plain \${braced} \${formatted:singlequote} [[old]] $__timeFilter(t) '$.x'`;
    expect(variableUses(text)).toEqual([
      { name: 'plain', format: undefined },
      { name: 'braced', format: undefined },
      { name: 'formatted', format: 'singlequote' },
      { name: 'old', format: undefined },
      { name: '__timeFilter', format: undefined },
    ]);
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
