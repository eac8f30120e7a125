/**
 * What a source says should change in the catalog: the source's models matched to catalog
 * entries by provider and model name, then compared field by field.
 *
 * Only the figures a price list is an authority on are compared: prices, the context window and
 * the output limit. Everything else in an entry (aliases, tier, capabilities, fallbacks, cache
 * lifetime, comments) was set by hand and is left alone. Local backends (providers without an
 * `api_key_env`) serve whatever the operator runs and are never compared.
 *
 * Matching, per provider: a source model's name is looked up among the catalog's `upstream_id`s
 * (the provider's own names), then ids, then aliases; when several source entries land on one
 * catalog model, the closest match speaks for it (LiteLLM lists dated snapshots too, such as
 * `claude-sonnet-4-5-20250929`, which the catalog keeps as an alias).
 *
 * A model whose entry carries the comment `# models:update: keep` is pinned: its figures were set
 * by hand on purpose (a long-context tier priced apart, a negotiated rate) and are never changed,
 * nor is it removed; what the source says about it is only noted.
 */
import type { Catalog, Model } from '../load.js';
import { MODEL_NAME_RE, type Capability, type Tier } from '../schema.js';
import type { SourceFormat, SourceModel, SourceReadout } from './source.js';

export type PriceField = 'input' | 'output' | 'cached_input';
export type LimitField = 'context_window' | 'max_output_tokens';

/** One figure of a catalog model that changes; `to` undefined removes it (only `cached_input`). */
export interface FieldChange<F extends string> {
  field: F;
  from: number | undefined;
  to: number | undefined;
}

export interface ModelUpdate {
  /** Catalog id. */
  id: string;
  provider: string;
  /** The source entry it was compared with. */
  origin: string;
  pricing: FieldChange<PriceField>[];
  limits: FieldChange<LimitField>[];
}

/** A catalog entry for a model the catalog does not list yet, in the catalog's own field names. */
export interface NewEntry {
  id: string;
  provider: string;
  upstream_id?: string;
  pricing: { input: number; output: number; cached_input?: number };
  context_window: number;
  max_output_tokens: number;
  capabilities: Capability[];
  tier: Tier;
}

export interface NewModel {
  provider: string;
  name: string;
  origin: string;
  /** What would be added; undefined when the source lacks something an entry needs (`reason`). */
  entry?: NewEntry;
  reason?: string;
}

export interface WithdrawnModel {
  id: string;
  provider: string;
}

export interface UpdatePlan {
  format: SourceFormat;
  /** Providers compared: catalog providers with a key (and in `only`) that the source lists. */
  providers: string[];
  updates: ModelUpdate[];
  added: NewModel[];
  /** In the catalog, not in the source, for a provider the source covers. */
  withdrawn: WithdrawnModel[];
  /** Entries skipped or adjusted, one line each. */
  notes: string[];
}

export interface PlanOptions {
  /** Compare only these providers (default: every keyed provider of the catalog). */
  only?: readonly string[];
  /** Ids of pinned models (see the module comment). */
  pinned?: ReadonlySet<string>;
}

/** The comment that pins a catalog entry. */
export const PIN_MARK = 'models:update: keep';

/** Relative tolerance for "the same price": sources round per-token figures differently. */
const SAME = 1e-9;

/** Output price (USD per 1M) from which a new model's tier is first guessed as standard / premium. */
const TIER_BANDS: ReadonlyArray<{ from: number; tier: Tier }> = [
  { from: 10, tier: 'premium' },
  { from: 1, tier: 'standard' },
  { from: 0, tier: 'economy' },
];

export function planUpdate(catalog: Catalog, source: SourceReadout, options: PlanOptions = {}): UpdatePlan {
  const scoped = new Set(
    [...catalog.providers.values()].filter((p) => p.apiKeyEnv !== undefined && (options.only === undefined || options.only.includes(p.id))).map((p) => p.id),
  );
  const index = new CatalogIndex(catalog, scoped);
  const notes = source.problems.filter((p) => p.provider === undefined || scoped.has(p.provider)).map((p) => `${p.origin}: ${p.message}`);

  // The closest source entry for each catalog model; the rest are new.
  const best = new Map<Model, { src: SourceModel; rank: number }>();
  const unmatched = new Map<string, SourceModel>();
  const covered = new Set<string>();
  for (const src of source.models) {
    if (!scoped.has(src.provider)) continue;
    covered.add(src.provider);
    const hit = index.find(src.provider, src.name);
    if (!hit) {
      if (!unmatched.has(`${src.provider}\0${src.name}`)) unmatched.set(`${src.provider}\0${src.name}`, src);
      continue;
    }
    const prev = best.get(hit.model);
    if (!prev || hit.rank < prev.rank) best.set(hit.model, { src, rank: hit.rank });
  }
  // A model named by an unreadable entry is still listed: never call it withdrawn.
  const listed = new Set<Model>(best.keys());
  for (const p of source.problems) {
    if (p.provider === undefined || p.name === undefined || !scoped.has(p.provider)) continue;
    covered.add(p.provider);
    const hit = index.find(p.provider, p.name);
    if (hit) listed.add(hit.model);
  }

  const updates: ModelUpdate[] = [];
  for (const model of catalog.models) {
    const match = best.get(model);
    if (!match) continue;
    const u = compare(model, match.src, notes);
    if (u.pricing.length === 0 && u.limits.length === 0) continue;
    if (options.pinned?.has(model.id))
      notes.push(`${model.id}: pinned (# ${PIN_MARK}), left as written: the source says ${[...u.pricing, ...u.limits].map(describe).join(', ')}`);
    else updates.push(u);
  }
  const withdrawn = catalog.models
    .filter((m) => covered.has(m.provider.id) && !listed.has(m) && !options.pinned?.has(m.id))
    .map((m) => ({ id: m.id, provider: m.provider.id }));
  const taken = new Set<string>(catalog.models.flatMap((m) => [m.id, ...m.aliases]));
  const added = [...unmatched.values()].map((src) => newModel(src, taken));
  return { format: source.format, providers: [...covered].sort(), updates, added, withdrawn, notes };
}

/** Catalog models of the compared providers, by every name a source may use for them. */
class CatalogIndex {
  private readonly byName = new Map<string, { model: Model; rank: number }>();

  constructor(catalog: Catalog, providers: ReadonlySet<string>) {
    const add = (model: Model, name: string, rank: number) => {
      const key = `${model.provider.id}\0${name}`;
      const prev = this.byName.get(key);
      if (!prev || rank < prev.rank) this.byName.set(key, { model, rank });
    };
    for (const m of catalog.models) {
      if (!providers.has(m.provider.id)) continue;
      add(m, m.upstreamId, 0);
      add(m, m.id, 1);
      for (const a of m.aliases) add(m, a, 2);
    }
  }

  find(provider: string, name: string): { model: Model; rank: number } | undefined {
    return this.byName.get(`${provider}\0${name}`);
  }
}

function compare(model: Model, src: SourceModel, notes: string[]): ModelUpdate {
  const u: ModelUpdate = { id: model.id, provider: model.provider.id, origin: src.origin, pricing: [], limits: [] };
  const p = model.pricing;
  if (src.pricing) {
    const input = src.pricing.input;
    change(u.pricing, 'input', p.inputPerMTok, input);
    change(u.pricing, 'output', p.outputPerMTok, src.pricing.output);
    // The catalog never prices cached input above fresh input (nor does any provider).
    let cached = src.pricing.cachedInput !== undefined && src.pricing.cachedInput <= input ? src.pricing.cachedInput : p.cachedInputPerMTok;
    if (cached !== undefined && cached > input) {
      notes.push(`${model.id}: cached_input ${cached} is above the new input price ${input}: removed`);
      cached = undefined;
    }
    if (cached === undefined && p.cachedInputPerMTok !== undefined) u.pricing.push({ field: 'cached_input', from: p.cachedInputPerMTok, to: undefined });
    else if (cached !== undefined) change(u.pricing, 'cached_input', p.cachedInputPerMTok, cached);
  }
  let context = model.contextWindow;
  if (src.contextWindow !== undefined && !sameWindow(model.contextWindow, src)) {
    context = src.contextWindow;
    u.limits.push({ field: 'context_window', from: model.contextWindow, to: context });
  }
  const output = Math.min(src.maxOutputTokens ?? model.maxOutputTokens, context);
  if (output !== model.maxOutputTokens) u.limits.push({ field: 'max_output_tokens', from: model.maxOutputTokens, to: output });
  return u;
}

/** The catalog's window is the source's, or (for split limits) the source's input plus output limit. */
function sameWindow(catalogWindow: number, src: SourceModel): boolean {
  if (catalogWindow === src.contextWindow) return true;
  return src.maxInputTokens !== undefined && src.maxOutputTokens !== undefined && catalogWindow === src.maxInputTokens + src.maxOutputTokens;
}

function describe(c: FieldChange<string>): string {
  return `${c.field} ${c.to ?? 'none'}`;
}

function change(into: FieldChange<PriceField>[], field: PriceField, from: number | undefined, to: number): void {
  if (from !== undefined && Math.abs(from - to) <= SAME * Math.max(1, Math.abs(from))) return;
  into.push({ field, from, to });
}

/**
 * The entry a new model would get. Its id follows the catalog's naming convention: the provider's
 * name when it is free and has no `/`, else `<provider>/<name>` (always for OpenRouter slugs).
 */
function newModel(src: SourceModel, taken: Set<string>): NewModel {
  const base = { provider: src.provider, name: src.name, origin: src.origin };
  if (!src.pricing) return { ...base, reason: 'no price in the source' };
  if (src.contextWindow === undefined) return { ...base, reason: 'no context window in the source' };
  const plain = src.provider !== 'openrouter' && !src.name.includes('/') && !taken.has(src.name);
  const id = plain ? src.name : `${src.provider}/${src.name}`;
  if (!MODEL_NAME_RE.test(id)) return { ...base, reason: `"${id}" is not a valid model id` };
  if (taken.has(id)) return { ...base, reason: `"${id}" is already a catalog id or alias` };
  taken.add(id);
  const { input, output, cachedInput } = src.pricing;
  const entry: NewEntry = {
    id,
    provider: src.provider,
    ...(id !== src.name ? { upstream_id: src.name } : {}),
    pricing: { input, output, ...(cachedInput !== undefined && cachedInput <= input ? { cached_input: cachedInput } : {}) },
    context_window: src.contextWindow,
    max_output_tokens: Math.min(src.maxOutputTokens ?? src.contextWindow, src.contextWindow),
    capabilities: src.capabilities,
    tier: TIER_BANDS.find((b) => output >= b.from)!.tier,
  };
  return { ...base, entry };
}

/** True when the plan changes nothing it would write (with `prune` / `addNew` as the writer would). */
export function planIsEmpty(plan: UpdatePlan, o: { prune?: boolean; addNew?: boolean } = {}): boolean {
  return plan.updates.length === 0 && (!o.prune || plan.withdrawn.length === 0) && (!o.addNew || !plan.added.some((a) => a.entry));
}
