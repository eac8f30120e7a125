/** The plan as a reader wants it: what changes, per model, in the catalog's units. */
import type { FieldChange, UpdatePlan } from './plan.js';

export interface ReportOptions {
  /** Label of the source (path or URL). */
  source: string;
  catalog: string;
  prune?: boolean;
  addNew?: boolean;
  /** List every new model and note, not just the first few. */
  verbose?: boolean;
}

const SHORT_LIST = 25;

export function formatReport(plan: UpdatePlan, o: ReportOptions): string {
  const out: string[] = [];
  out.push(`source: ${o.source} (${plan.format})`);
  out.push(`catalog: ${o.catalog}`);
  out.push(`providers compared: ${plan.providers.join(', ') || 'none (the source lists no model of a keyed catalog provider)'}`);

  const prices = plan.updates.filter((u) => u.pricing.length > 0);
  const limits = plan.updates.filter((u) => u.limits.length > 0);
  section(out, 'price changes (USD per 1M tokens)', prices, true, (u) => `${u.provider} ${u.id}: ${u.pricing.map(describe).join(', ')}`);
  section(out, 'context changes (tokens)', limits, true, (u) => `${u.provider} ${u.id}: ${u.limits.map(describe).join(', ')}`);
  section(out, `new in the source${o.addNew ? '' : ' (not added; --add-new adds them)'}`, plan.added, o.verbose ?? false, (a) =>
    a.entry
      ? `${a.provider} ${a.entry.id}${a.entry.upstream_id ? ` (${a.name})` : ''}: $${a.entry.pricing.input} in / $${a.entry.pricing.output} out, ${a.entry.context_window} context, tier ${a.entry.tier} (a guess)`
      : `${a.provider} ${a.name}: cannot be added: ${a.reason}`,
  );
  section(
    out,
    `absent from the source${o.prune ? ' (removed: --prune)' : ' (kept; --prune removes them)'}`,
    plan.withdrawn,
    true,
    (w) => `${w.provider} ${w.id}`,
  );
  section(out, 'notes', plan.notes, o.verbose ?? false, (n) => n);

  const added = plan.added.filter((a) => a.entry).length;
  out.push('');
  out.push(
    `summary: ${prices.length} price change(s), ${limits.length} context change(s), ${plan.added.length} new (${added} addable), ${plan.withdrawn.length} absent`,
  );
  return `${out.join('\n')}\n`;
}

function section<T>(out: string[], title: string, items: readonly T[], all: boolean, line: (item: T) => string): void {
  if (items.length === 0) return;
  out.push('');
  out.push(`${title}:`);
  const shown = all ? items : items.slice(0, SHORT_LIST);
  for (const item of shown) out.push(`  ${line(item)}`);
  if (shown.length < items.length) out.push(`  ... and ${items.length - shown.length} more (--verbose lists them all)`);
}

function describe(c: FieldChange<string>): string {
  const from = c.from === undefined ? 'none' : String(c.from);
  const to = c.to === undefined ? 'none' : String(c.to);
  return `${c.field} ${from} -> ${to}`;
}
