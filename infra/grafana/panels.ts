// The pieces both Grafana dashboards are made of, on @grafana/grafana-foundation-sdk's typed builders
// (generated from Grafana's own schema): the BigQuery data source, a raw-SQL query, the two panel kinds
// and the variables. infra/grafana/dashboards.ts assembles them; scripts/grafana-dashboards.ts writes the JSON.
import * as bigquery from '@grafana/grafana-foundation-sdk/bigquery';
import type { Builder } from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/** The plugin id of Google's official BigQuery data source. */
export const BIGQUERY_PLUGIN = 'grafana-bigquery-datasource';
/** The uid provisioning/datasources/bigquery.yaml gives the data source. */
export const BIGQUERY_UID = 'mlops-bigquery';

/** A reference to the provisioned BigQuery data source (a fresh object: builders keep what they are given). */
export function bigQuery(): dashboard.DataSourceRef {
  return { type: BIGQUERY_PLUGIN, uid: BIGQUERY_UID };
}

/** The shape a query returns: time series (a time column, one series per other column or label) or a table. */
export const Format = bigquery.QueryFormat;

/** A BigQuery query written as SQL (the code editor, not the visual builder), reading the provisioned data source. */
export function sql(format: bigquery.QueryFormat, rawSql: string, refId = 'A'): bigquery.DataqueryBuilder {
  return new bigquery.DataqueryBuilder().refId(refId).datasource(bigQuery()).editorMode(bigquery.EditorMode.Code).rawQuery(true).format(format).rawSql(rawSql);
}

/** Where a panel sits on the 24-column grid: column x, row y, w columns wide, h rows high. */
export type Place = Omit<dashboard.GridPos, 'static'>;

/** A time-series panel on BigQuery with the legend both dashboards use: a table on the right with mean and max. */
export function timeSeries(id: number, title: string, place: Place): timeseries.PanelBuilder {
  return new timeseries.PanelBuilder()
    .id(id)
    .title(title)
    .datasource(bigQuery())
    .gridPos({ ...place })
    .legend(
      new common.VizLegendOptionsBuilder()
        .displayMode(common.LegendDisplayMode.Table)
        .placement(common.LegendPlacement.Right)
        .showLegend(true)
        .calcs(['mean', 'max']),
    )
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
}

/** Bars, `fillOpacity` percent opaque, stacked by `stacking` when given. */
export function bars(panel: timeseries.PanelBuilder, fillOpacity: number, stacking?: common.StackingMode): timeseries.PanelBuilder {
  panel.drawStyle(common.GraphDrawStyle.Bars).fillOpacity(fillOpacity);
  return stacking ? panel.stacking(new common.StackingConfigBuilder().mode(stacking)) : panel;
}

/** A table panel on BigQuery, with its header. */
export function tablePanel(id: number, title: string, place: Place): table.PanelBuilder {
  return new table.PanelBuilder()
    .id(id)
    .title(title)
    .datasource(bigQuery())
    .gridPos({ ...place })
    .showHeader(true);
}

/**
 * The `model` variable: every model `modelsSql` lists in the time range, several at once, All by default.
 * Panels filter with `model IN (${model:singlequote})`.
 */
export function modelVariable(modelsSql: string): Builder<dashboard.VariableModel> {
  const query = new bigquery.DataqueryBuilder().refId('models').editorMode(bigquery.EditorMode.Code).rawQuery(true).format(Format.Table).rawSql(modelsSql);
  return withoutIntervalFields(
    new dashboard.QueryVariableBuilder('model')
      .label('Model')
      .datasource(bigQuery())
      .query(query.build())
      .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
      .multi(true)
      .includeAll(true)
      .sort(dashboard.VariableSort.AlphabeticalAsc)
      .current({ selected: true, text: ['All'], value: ['$__all'] }),
  );
}

/** A free-text variable holding `value` until someone types another. */
export function textVariable(name: string, label: string, value: string, description: string): Builder<dashboard.VariableModel> {
  return withoutIntervalFields(
    new dashboard.TextBoxVariableBuilder(name)
      .label(label)
      .description(description)
      .defaultValue(value)
      .current({ text: value, value })
      .hide(dashboard.VariableHide.DontHide),
  );
}

/**
 * The SDK starts every variable from one default model that carries the interval variable's `auto`,
 * `auto_min` and `auto_count`; Grafana's dashboard schema (@grafana/schema) has no such fields, and they
 * mean nothing on a query or text box variable, so they are dropped.
 */
function withoutIntervalFields(variable: Builder<dashboard.VariableModel>): Builder<dashboard.VariableModel> {
  return {
    build: () => {
      const { auto: _auto, auto_min: _autoMin, auto_count: _autoCount, ...model } = variable.build();
      return model;
    },
  };
}
