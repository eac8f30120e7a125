/**
 * The few building blocks every gateway dashboard shares, on top of the Grafana foundation SDK:
 * the Prometheus datasource, the four variables and the selector that applies them, and panels
 * with the options these dashboards use. Each dashboard module only says what it shows.
 */
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/** The datasource provisioned by grafana/provisioning/datasources/prometheus.yaml. */
export const DATASOURCE = { type: 'prometheus', uid: 'prometheus' } as const;

/** Grafana's rate window: at least four scrapes, so a rate always has two samples. */
export const RATE = '$__rate_interval';

/** The processor's and Envoy's scrape jobs (grafana/prometheus.yml). */
export const JOBS = { processor: 'llm-gateway-ext-proc', envoy: 'envoy' } as const;

/** Local pools are providers (and Envoy clusters) of these names in the catalog. */
export const POOL_PROVIDERS = 'ollama|vllm';

/**
 * The gateway's label names for the dashboard variables. The values come from Prometheus
 * (label_values), and so from configuration: tenants, catalog models and providers.
 */
const LABELS = { tenant: 'tenant', model: 'gen_ai_request_model', provider: 'gen_ai_provider_name' } as const;
type Scoped = keyof typeof LABELS;

/**
 * A series selector with the dashboard's variables applied: `instance` always, `tenant`,
 * `model` and `provider` for the metrics that carry those labels (a label named otherwise, such
 * as the reroutes' chosen_model, is given as the value), then any fixed matchers.
 */
export function sel(scope: Partial<Record<Scoped, true | string>>, ...matchers: string[]): string {
  const parts: string[] = [];
  for (const [variable, label] of Object.entries(LABELS) as Array<[Scoped, string]>) {
    const on = scope[variable];
    if (on) parts.push(`${on === true ? label : on}=~"$${variable}"`);
  }
  parts.push(...matchers, 'instance=~"$instance"');
  return `{${parts.join(',')}}`;
}

/** The usual latency quantiles of a histogram, as one query each. */
export function quantiles(metric: string, selector: string, by: string[] = [], qs: number[] = [0.5, 0.95, 0.99]): Target[] {
  const group = ['le', ...by].join(', ');
  const prefix = by.map((l) => `{{${l}}} `).join('');
  return qs.map((q) => ({
    expr: `histogram_quantile(${q}, sum by (${group}) (rate(${metric}_bucket${selector}[${RATE}])))`,
    legend: `${prefix}p${Math.round(q * 100)}`,
  }));
}

export interface Target {
  expr: string;
  legend?: string;
  /** A unit of its own (drawn on a second axis), when it differs from the panel's. */
  unit?: string;
}

const refId = (i: number): string => String.fromCharCode(65 + i);

function query(t: Target, i: number): prometheus.DataqueryBuilder {
  const q = new prometheus.DataqueryBuilder().datasource(DATASOURCE).refId(refId(i)).expr(t.expr).range();
  return t.legend ? q.legendFormat(t.legend) : q;
}

export interface PanelOptions {
  /** Width in grid columns (of 24); default 12. */
  w?: number;
  /** Height in grid rows; default 8. */
  h?: number;
  min?: number;
  max?: number;
  /** Stack the series (shares of a whole: mixes, classes). */
  stack?: boolean;
}

type Builder = cog.Builder<dashboard.Panel>;

export function timeSeries(title: string, description: string, unit: string, targets: Target[], o: PanelOptions = {}): Builder {
  const p = new timeseries.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .unit(unit)
    .span(o.w ?? 12)
    .height(o.h ?? 8)
    .fillOpacity(o.stack ? 40 : 10)
    .showPoints(common.VisibilityMode.Never)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
  if (o.stack) p.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  if (o.min !== undefined) p.min(o.min);
  if (o.max !== undefined) p.max(o.max);
  targets.forEach((t, i) => {
    p.withTarget(query(t, i));
    if (t.unit) {
      p.overrideByQuery(refId(i), [
        { id: 'unit', value: t.unit },
        { id: 'custom.axisPlacement', value: 'right' },
      ]);
    }
  });
  return p;
}

/** One figure (the last value), e.g. spend in the last hour. */
export function singleStat(title: string, description: string, unit: string, targets: Target[], o: PanelOptions = {}): Builder {
  const p = new stat.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .unit(unit)
    .span(o.w ?? 6)
    .height(o.h ?? 5)
    .graphMode(common.BigValueGraphMode.Area)
    .colorMode(common.BigValueColorMode.None)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
  targets.forEach((t, i) => {
    p.withTarget(query(t, i));
  });
  return p;
}

/** Current values side by side, e.g. each tenant's budget used. */
export function bars(title: string, description: string, unit: string, targets: Target[], o: PanelOptions = {}): Builder {
  const p = new bargauge.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(DATASOURCE)
    .unit(unit)
    .span(o.w ?? 12)
    .height(o.h ?? 8)
    .orientation(common.VizOrientation.Horizontal)
    .displayMode(common.BarGaugeDisplayMode.Gradient)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
  if (o.min !== undefined) p.min(o.min);
  if (o.max !== undefined) p.max(o.max);
  targets.forEach((t, i) => {
    p.withTarget(query(t, i));
  });
  return p;
}

function variable(name: string, label: string, values: string): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query(values)
    .definition(values)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ selected: true, text: ['All'], value: ['$__all'] });
}

/** The variables of every gateway dashboard. */
function variables(): dashboard.QueryVariableBuilder[] {
  return [
    variable('tenant', 'Tenant', 'label_values(llm_gateway_requests_total, tenant)'),
    variable('model', 'Model', 'label_values(llm_gateway_requests_total, gen_ai_request_model)'),
    variable('provider', 'Provider', 'label_values(llm_gateway_requests_total, gen_ai_provider_name)'),
    variable('instance', 'Instance', `label_values(up{job=~"${JOBS.processor}|${JOBS.envoy}"}, instance)`),
  ];
}

/** One dashboard: its identity, then rows of panels in reading order. */
export class Board {
  private readonly b: dashboard.DashboardBuilder;
  private nextId = 1;

  constructor(uid: string, title: string, description: string) {
    this.b = new dashboard.DashboardBuilder(title)
      .uid(uid)
      .description(description)
      .tags(['llm-gateway'])
      .editable()
      .timezone('browser')
      .time({ from: 'now-6h', to: 'now' })
      .refresh('30s')
      .tooltip(dashboard.DashboardCursorSync.Crosshair)
      .variables(variables())
      .link(new dashboard.DashboardLinkBuilder('Gateway dashboards').type(dashboard.DashboardLinkType.Dashboards).tags(['llm-gateway']).asDropdown(true));
  }

  row(title: string): this {
    this.b.withRow(new dashboard.RowBuilder(title).id(this.nextId++));
    return this;
  }

  panel(...panels: Builder[]): this {
    for (const p of panels) this.b.withPanel(withId(p, this.nextId++));
    return this;
  }

  /** Events drawn on every time series panel: each non-empty point of `expr` is one. */
  annotation(name: string, expr: string, title: string, text: string, color: string): this {
    this.b.annotation(
      new dashboard.AnnotationQueryBuilder().name(name).datasource(DATASOURCE).enable(true).iconColor(color).expr(expr).titleFormat(title).textFormat(text),
    );
    return this;
  }

  build(): dashboard.Dashboard {
    return this.b.build();
  }
}

/** Grafana keys panel state by id: stable ids keep links and panel views working across renders. */
function withId(p: Builder, id: number): Builder {
  return { build: () => ({ ...p.build(), id }) };
}
