/**
 * Applies an update plan to the catalog's YAML text, changing only what the plan changes.
 *
 * The `yaml` Document API finds each figure's node and its place in the text; the new value is
 * spliced in at that place. Re-serialising the whole document would also preserve comments, but
 * it re-lays every flow collection (`[tools, vision]` becomes `[ tools, vision ]` or the pricing
 * maps lose their spaces), so every run would rewrite lines nobody changed. Splicing keeps every
 * other byte: comments, blank lines, key order, quoting and number layout (`10.00` stays two
 * decimals wide when it becomes `12.50`).
 */
import { isMap, isScalar, isSeq, parseDocument, stringify, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml';
import { PIN_MARK, type FieldChange, type NewEntry, type UpdatePlan } from './plan.js';

export interface EditOptions {
  /** Remove models the source no longer lists (and their mentions in other models' fallbacks). */
  prune?: boolean;
  /** Append the source's new models. */
  addNew?: boolean;
  /** Comment line put above each added model (what added it, and that its guesses need a look). */
  addedNote?: string;
}

export interface EditResult {
  text: string;
  updated: number;
  added: number;
  removed: number;
}

interface Splice {
  start: number;
  end: number;
  text: string;
}

export class CatalogEditError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CatalogEditError';
  }
}

export function applyPlan(text: string, plan: UpdatePlan, o: EditOptions = {}): EditResult {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new CatalogEditError(`the catalog is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  const models = doc.get('models', true);
  if (!isSeq(models)) throw new CatalogEditError('the catalog has no `models` list');
  const seq = models as YAMLSeq;
  const items = new Map<string, YAMLMap>();
  for (const item of seq.items) {
    if (!isMap(item)) continue;
    const id = item.get('id');
    if (typeof id === 'string') items.set(id, item);
  }
  const entry = (id: string): YAMLMap => {
    const item = items.get(id);
    if (!item) throw new CatalogEditError(`model ${id} is not in the catalog's text`);
    return item;
  };

  const splices: Splice[] = [];
  for (const u of plan.updates) {
    const item = entry(u.id);
    const pricing: unknown = item.get('pricing', true);
    if (u.pricing.length > 0 && !isMap(pricing)) throw new CatalogEditError(`model ${u.id}: pricing is not a mapping`);
    for (const c of u.pricing) splices.push(...setField(text, pricing as YAMLMap, c));
    for (const c of u.limits) splices.push(...setField(text, item, c));
  }

  let removed = 0;
  if (o.prune && plan.withdrawn.length > 0) {
    const gone = new Set<string>();
    for (const w of plan.withdrawn) {
      const item = entry(w.id);
      gone.add(w.id);
      const aliases: unknown = item.get('aliases', true);
      if (isSeq(aliases)) for (const a of (aliases as YAMLSeq).items) if (isScalar(a)) gone.add(String(a.value));
      splices.push(removeItem(text, item));
      removed++;
    }
    // Fallbacks naming a removed model would no longer load.
    for (const [id, item] of items) {
      if (gone.has(id)) continue;
      const s = dropFallbacks(text, item, gone);
      if (s) splices.push(s);
    }
  }

  let added = 0;
  if (o.addNew) {
    const fresh = plan.added.flatMap((a) => (a.entry ? [a.entry] : []));
    if (fresh.length > 0) {
      splices.push(appendEntries(text, seq, fresh, o.addedNote));
      added = fresh.length;
    }
  }
  return { text: splice(text, splices), updated: plan.updates.length, added, removed };
}

/**
 * Ids of the entries pinned by a `# models:update: keep` comment: on one of their lines, or in the
 * comment lines right above them (a blank line ends those: a section heading pins nothing).
 */
export function pinnedModels(text: string): Set<string> {
  const models: unknown = parseDocument(text).get('models', true);
  const pinned = new Set<string>();
  if (!isSeq(models)) return pinned;
  for (const item of (models as YAMLSeq).items) {
    if (!isMap(item) || !item.range) continue;
    const id = item.get('id');
    const start = lineStart(text, item.range[0]);
    const above: string[] = [];
    for (let end = start; end > 0; ) {
      const from = lineStart(text, end - 1);
      const line = text.slice(from, end).trim();
      if (!line.startsWith('#')) break;
      above.push(line);
      end = from;
    }
    const own = text.slice(start, item.range[2]);
    if (typeof id === 'string' && (own.includes(PIN_MARK) || above.some((l) => l.includes(PIN_MARK)))) pinned.add(id);
  }
  return pinned;
}

/** Sets (or adds, or removes when `to` is undefined) a numeric field of a mapping. */
function setField(text: string, map: YAMLMap, c: FieldChange<string>): Splice[] {
  const i = map.items.findIndex((p) => keyOf(p) === c.field);
  const pair = i >= 0 ? map.items[i]! : undefined;
  if (c.to === undefined) return pair ? [removePair(text, map, i)] : [];
  if (pair) {
    const value = pair.value as Node | null;
    if (!isScalar(value) || !value.range) throw new CatalogEditError(`${c.field} is not a plain value`);
    const [start, end] = value.range;
    return [{ start, end, text: formatNumber(c.to, text.slice(start, end)) }];
  }
  const last = map.items.at(-1);
  const lastEnd = (last?.value as Node | null)?.range?.[1];
  if (!last || lastEnd === undefined) throw new CatalogEditError(`cannot add ${c.field} to an empty mapping`);
  const value = formatNumber(c.to, '');
  if (map.flow) return [{ start: lastEnd, end: lastEnd, text: `, ${c.field}: ${value}` }];
  return [{ start: lastEnd, end: lastEnd, text: `\n${' '.repeat(column(text, (last.key as Node).range![0]))}${c.field}: ${value}` }];
}

function removePair(text: string, map: YAMLMap, i: number): Splice {
  const pair = map.items[i]!;
  const key = (pair.key as Node).range!;
  const value = (pair.value as Node).range!;
  if (map.flow) {
    // `, cached_input: 0.5` goes with its separator: the one before it, or after it when first.
    if (i > 0) return { start: (map.items[i - 1]!.value as Node).range![1], end: value[1], text: '' };
    const next = map.items[i + 1];
    return { start: key[0], end: next ? (next.key as Node).range![0] : value[1], text: '' };
  }
  return { start: lineStart(text, key[0]), end: lineEnd(text, value[1]), text: '' };
}

/** A whole list item, from its `-` line to its last line (comments above it stay). */
function removeItem(text: string, item: YAMLMap): Splice {
  const [start, , end] = item.range!;
  return { start: lineStart(text, start), end: lineEnd(text, end - 1), text: '' };
}

function dropFallbacks(text: string, item: YAMLMap, gone: ReadonlySet<string>): Splice | undefined {
  const i = item.items.findIndex((p) => keyOf(p) === 'fallbacks');
  if (i < 0) return undefined;
  const pair = item.items[i]!;
  const list = pair.value;
  if (!isSeq(list)) return undefined;
  const names = (list as YAMLSeq).items.map((n) => (isScalar(n) ? String(n.value) : ''));
  const kept = names.filter((n) => !gone.has(n));
  if (kept.length === names.length) return undefined;
  if (kept.length === 0) return { start: lineStart(text, (pair.key as Node).range![0]), end: lineEnd(text, (list as YAMLSeq).range![1]), text: '' };
  const [start, end] = (list as YAMLSeq).range!;
  return { start, end, text: flowSeq(kept) };
}

/** New entries after the last one, laid out like the catalog's own. */
function appendEntries(text: string, seq: YAMLSeq, entries: readonly NewEntry[], note: string | undefined): Splice {
  const first = seq.items[0] as Node | undefined;
  // The `- ` of the first item sits two columns before its content.
  const dash = first?.range ? Math.max(0, column(text, first.range[0]) - 2) : 2;
  const pad = ' '.repeat(dash);
  const body = ' '.repeat(dash + 2);
  const end = seq.range![2];
  const lines: string[] = [];
  for (const e of entries) {
    lines.push('');
    if (note) lines.push(`${pad}# ${note.replace(/[\r\n]+/g, ' ')}`);
    lines.push(`${pad}- id: ${scalar(e.id)}`);
    lines.push(`${body}provider: ${scalar(e.provider)}`);
    if (e.upstream_id !== undefined) lines.push(`${body}upstream_id: ${scalar(e.upstream_id)}`);
    const p = e.pricing;
    const cached = p.cached_input !== undefined ? `, cached_input: ${formatNumber(p.cached_input, '')}` : '';
    lines.push(`${body}pricing: { input: ${formatNumber(p.input, '')}, output: ${formatNumber(p.output, '')}${cached} }`);
    lines.push(`${body}context_window: ${e.context_window}`);
    lines.push(`${body}max_output_tokens: ${e.max_output_tokens}`);
    lines.push(`${body}capabilities: ${flowSeq(e.capabilities)}`);
    lines.push(`${body}tier: ${e.tier}`);
  }
  const lead = end > 0 && text[end - 1] !== '\n' ? '\n' : '';
  return { start: end, end, text: `${lead}${lines.join('\n')}\n` };
}

/** Applies non-overlapping splices, last first so earlier offsets stay valid. */
function splice(text: string, splices: Splice[]): string {
  const sorted = [...splices].sort((a, b) => b.start - a.start || b.end - a.end);
  let out = text;
  let limit = Number.POSITIVE_INFINITY;
  for (const s of sorted) {
    if (s.end > limit) throw new CatalogEditError('overlapping edits (a model changed and removed at once?)');
    out = out.slice(0, s.start) + s.text + out.slice(s.end);
    limit = s.start;
  }
  return out;
}

/**
 * A number as the catalog writes it: as many decimals as the value it replaces had (`10.00` →
 * `12.50`), more when the value needs them, never exponent notation.
 */
export function formatNumber(value: number, previous: string): string {
  let s = String(value);
  if (/e/i.test(s)) s = value.toFixed(12).replace(/0+$/, '').replace(/\.$/, '');
  const want = /\.(\d+)$/.exec(previous.trim())?.[1]?.length ?? 0;
  const [whole, frac = ''] = s.split('.');
  if (frac.length >= want) return s;
  return `${whole}.${frac.padEnd(want, '0')}`;
}

function flowSeq(items: readonly string[]): string {
  return `[${items.map(scalar).join(', ')}]`;
}

/** A string as a YAML scalar, quoted only where plain text would read as something else. */
function scalar(s: string): string {
  return stringify(s, { lineWidth: 0 }).trimEnd();
}

function keyOf(p: Pair<unknown, unknown>): unknown {
  return isScalar(p.key) ? p.key.value : p.key;
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** Just past the newline ending the line `offset` is on (or the end of the text). */
function lineEnd(text: string, offset: number): number {
  const nl = text.indexOf('\n', offset);
  return nl < 0 ? text.length : nl + 1;
}

function column(text: string, offset: number): number {
  return offset - lineStart(text, offset);
}
