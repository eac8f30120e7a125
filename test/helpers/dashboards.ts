/** What the dashboard tests read of a Grafana dashboard's JSON. */
export interface DashboardJson {
  uid: string;
  title: string;
  templating: { list: Array<{ name: string; query: string; multi?: boolean; includeAll?: boolean; allValue?: string }> };
  annotations?: { list?: Array<{ name: string; expr?: string }> };
  panels: PanelJson[];
}

interface PanelJson {
  id: number;
  type: string;
  title?: string;
  targets?: Array<{ expr?: string; refId?: string }>;
  panels?: PanelJson[];
}

/** One query of a dashboard: a panel's target, or an annotation (its panel is the annotation's name). */
export interface DashboardQuery {
  /** The panel's id; 0 for an annotation. */
  panelId: number;
  panel: string;
  refId: string;
  expr: string;
}

/** Panels with queries (rows' nested panels included) and every query, annotations too. */
export function dashboardQueries(d: DashboardJson): { panels: Array<{ id: number; title: string }>; queries: DashboardQuery[] } {
  const panels: Array<{ id: number; title: string }> = [];
  const queries: DashboardQuery[] = [];
  const visit = (p: PanelJson) => {
    for (const nested of p.panels ?? []) visit(nested);
    if (p.type === 'row') return;
    const title = p.title ?? `panel ${p.id}`;
    panels.push({ id: p.id, title });
    for (const t of p.targets ?? []) if (t.expr) queries.push({ panelId: p.id, panel: title, refId: t.refId ?? '?', expr: t.expr });
  };
  for (const p of d.panels) visit(p);
  for (const a of d.annotations?.list ?? []) if (a.expr) queries.push({ panelId: 0, panel: `annotation: ${a.name}`, refId: 'annotation', expr: a.expr });
  return { panels, queries };
}
