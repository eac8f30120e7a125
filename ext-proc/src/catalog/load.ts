/**
 * Model catalog loader: parses `models/catalog.yaml`, validates it with zod plus
 * cross-entry checks, and builds the immutable runtime catalog.
 *
 * Every problem is reported as `file:line:col: entry: field: message`, e.g.
 *   models/catalog.yaml:42:5: models[3] (id: gpt-4o): pricing.input: expected number >= 0, got -1
 * Line/column come from the YAML node the issue's path points at (or the nearest
 * existing ancestor, e.g. the entry itself when a required field is missing).
 */
import { readFileSync } from 'node:fs';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import { z } from 'zod';
import { CatalogSchema } from './schema.js';
import type { AuthScheme, Capability, ProviderFormat, RawCatalog, Tier } from './schema.js';

export { AUTH_SCHEMES, CAPABILITIES, PROVIDER_FORMATS, TIERS } from './schema.js';
export type { AuthScheme, Capability, ProviderFormat, Tier } from './schema.js';

export interface Pricing {
  /** USD per 1M input (prompt) tokens. */
  inputPerMTok: number;
  /** USD per 1M output (completion, incl. reasoning) tokens. */
  outputPerMTok: number;
  /** USD per 1M input tokens served from the provider's prompt cache; absent = no discount known. */
  cachedInputPerMTok?: number;
}

export interface Provider {
  id: string;
  format: ProviderFormat;
  host: string;
  port: number;
  tls: boolean;
  basePath: string;
  auth: AuthScheme;
  apiKeyEnv: string;
  /** Envoy cluster name for this upstream; equal to `id`. */
  cluster: string;
}

export interface Model {
  id: string;
  provider: Provider;
  /** Model name sent to the provider (defaults to `id`). */
  upstreamId: string;
  aliases: string[];
  pricing: Pricing;
  contextWindow: number;
  maxOutputTokens: number;
  capabilities: ReadonlySet<Capability>;
  tier: Tier;
  /** Response cache lifetime for this model's answers, when the catalog sets one. */
  cacheTtlSeconds?: number;
}

export interface Catalog {
  providers: ReadonlyMap<string, Provider>;
  models: readonly Model[];
  /** Look a model up by id or alias (exact, case-sensitive). O(1). */
  find(name: string): Model | undefined;
}

/** One validation problem, already located in the source file. */
export interface CatalogIssue {
  /** 1-based; 0 when unknown (e.g. the file could not be read). */
  line: number;
  col: number;
  /** Path inside the document, e.g. ['models', 3, 'pricing', 'input']. */
  path: readonly (string | number)[];
  /** The fully formatted one-line message (also a line of CatalogError.message). */
  message: string;
}

export class CatalogError extends Error {
  readonly source: string;
  readonly issues: readonly CatalogIssue[];

  constructor(source: string, issues: readonly CatalogIssue[]) {
    super(issues.map((i) => i.message).join('\n'));
    this.name = 'CatalogError';
    this.source = source;
    this.issues = issues;
  }
}

// ---------------------------------------------------------------------------
// Public API

export function loadCatalog(path: string): Catalog {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new CatalogError(path, [{ line: 0, col: 0, path: [], message: `${path}: cannot read model catalog: ${reason}` }]);
  }
  return parseCatalog(text, path);
}

export function parseCatalog(text: string, source: string): Catalog {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const reporter = new Reporter(source, doc, lineCounter);

  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      const summary = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?\s*$/, '');
      reporter.addAt(err.pos[0], [], `YAML syntax error: ${summary}`);
    }
    reporter.throwIfAny();
  }

  let raw: unknown;
  try {
    raw = doc.toJS(); // can throw, e.g. on excessive alias expansion
  } catch (err) {
    reporter.addAt(0, [], `YAML error: ${err instanceof Error ? err.message : String(err)}`);
    reporter.throwIfAny();
  }
  reporter.raw = raw;
  const parsed = CatalogSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) reporter.addZodIssue(issue);
    reporter.throwIfAny();
    throw new Error('unreachable: schema failed without issues');
  }

  checkCrossReferences(parsed.data, reporter);
  reporter.throwIfAny();

  return build(parsed.data);
}

/** A catalog with only the providers `keep` accepts, and only the models served by them. */
export function filterCatalog(c: Catalog, keep: (p: Provider) => boolean): Catalog {
  const providers = new Map<string, Provider>();
  for (const [id, p] of c.providers) if (keep(p)) providers.set(id, p);
  const models = c.models.filter((m) => providers.get(m.provider.id) === m.provider);
  return makeCatalog(providers, models);
}

// ---------------------------------------------------------------------------
// Building the runtime catalog

function build(raw: RawCatalog): Catalog {
  const providers = new Map<string, Provider>();
  for (const [id, p] of Object.entries(raw.providers)) {
    providers.set(
      id,
      Object.freeze({
        id,
        format: p.format,
        host: p.host,
        port: p.port,
        tls: p.tls,
        basePath: p.base_path,
        auth: p.auth,
        apiKeyEnv: p.api_key_env,
        cluster: id,
      }),
    );
  }
  const models = raw.models.map((m): Model => {
    const provider = providers.get(m.provider);
    if (!provider) throw new Error(`unreachable: provider ${m.provider} was validated`);
    const pricing: Pricing = { inputPerMTok: m.pricing.input, outputPerMTok: m.pricing.output };
    if (m.pricing.cached_input !== undefined) pricing.cachedInputPerMTok = m.pricing.cached_input;
    return Object.freeze({
      id: m.id,
      provider,
      upstreamId: m.upstream_id ?? m.id,
      aliases: Object.freeze([...m.aliases]) as string[],
      pricing: Object.freeze(pricing),
      contextWindow: m.context_window,
      maxOutputTokens: m.max_output_tokens,
      capabilities: new Set(m.capabilities),
      tier: m.tier,
      ...(m.cache_ttl_seconds !== undefined ? { cacheTtlSeconds: m.cache_ttl_seconds } : {}),
    });
  });
  return makeCatalog(providers, models);
}

function makeCatalog(providers: Map<string, Provider>, models: readonly Model[]): Catalog {
  const byName = new Map<string, Model>();
  for (const m of models) {
    byName.set(m.id, m);
    for (const a of m.aliases) byName.set(a, m);
  }
  return Object.freeze({
    providers,
    models: Object.freeze([...models]),
    find: (name: string) => byName.get(name),
  });
}

// ---------------------------------------------------------------------------
// Cross-entry validation (needs the whole, schema-valid catalog)

function checkCrossReferences(raw: RawCatalog, r: Reporter): void {
  const providerIds = Object.keys(raw.providers);
  const seen = new Map<string, { index: number; kind: 'id' | 'alias'; path: (string | number)[] }>();

  raw.models.forEach((m, i) => {
    if (!Object.hasOwn(raw.providers, m.provider)) {
      r.addAtPath(
        ['models', i, 'provider'],
        `unknown provider "${m.provider}"${didYouMean(m.provider, providerIds)} (known: ${providerIds.join(', ') || 'none'})`,
      );
    }
  });

  // Ids first, then aliases: when an alias collides with an id, the alias is the one blamed.
  const names: { name: string; index: number; kind: 'id' | 'alias'; path: (string | number)[] }[] = [
    ...raw.models.map((m, i) => ({ name: m.id, index: i, kind: 'id' as const, path: ['models', i, 'id'] })),
    ...raw.models.flatMap((m, i) =>
      m.aliases.map((a, j) => ({ name: a, index: i, kind: 'alias' as const, path: ['models', i, 'aliases', j] })),
    ),
  ];
  for (const n of names) {
    const prev = seen.get(n.name);
    if (!prev) {
      seen.set(n.name, n);
      continue;
    }
    const what = n.kind === 'id' ? `duplicate model id "${n.name}"` : `duplicate alias "${n.name}"`;
    const already =
      prev.index === n.index
        ? `already this model's ${prev.kind}`
        : `already the ${prev.kind} of ${r.entryLabel(['models', prev.index])}`;
    r.addAtPath(n.path, `${what}: ${already} at ${r.where(prev.path)}`);
  }
}

// ---------------------------------------------------------------------------
// Locating and formatting issues

type Segment = string | number;

class Reporter {
  readonly issues: CatalogIssue[] = [];
  raw: unknown = undefined;

  constructor(
    private readonly source: string,
    private readonly doc: Document,
    private readonly lc: LineCounter,
  ) {}

  throwIfAny(): void {
    if (this.issues.length === 0) return;
    const sorted = [...this.issues].sort((a, b) => a.line - b.line || a.col - b.col);
    throw new CatalogError(this.source, sorted);
  }

  /** `file:line:col` of the node at `path` (or its nearest existing ancestor). */
  where(path: readonly Segment[], key = false): string {
    const { line, col } = this.position(path, key);
    return `${this.source}:${line}:${col}`;
  }

  addAt(offset: number | undefined, path: readonly Segment[], text: string): void {
    const { line, col } = this.lc.linePos(offset ?? 0);
    this.issues.push({ line, col, path, message: `${this.source}:${line}:${col}: ${text}` });
  }

  /** Add an issue located at `path`; the message is prefixed with the entry and field names. */
  addAtPath(path: readonly Segment[], text: string, pointAtKey = false): void {
    const { line, col } = this.position(path, pointAtKey);
    const field = formatPath(this.fieldPath(path));
    const body = [this.entryLabel(path), field, text].filter((s) => s !== '').join(': ');
    this.issues.push({ line, col, path, message: `${this.source}:${line}:${col}: ${body}` });
  }

  addZodIssue(issue: z.core.$ZodIssue): void {
    const path = issue.path.filter((s): s is Segment => typeof s === 'string' || typeof s === 'number');
    switch (issue.code) {
      case 'unrecognized_keys': {
        const allowed = allowedKeysAt(CatalogSchema, path);
        for (const key of issue.keys) {
          const hint = allowed ? `${didYouMean(key, allowed)} (allowed: ${allowed.join(', ')})` : '';
          this.addAtPath([...path, key], `unknown key "${key}"${hint}`, true);
        }
        return;
      }
      case 'invalid_key': {
        const inner = issue.issues.map((i) => i.message).join('; ');
        this.addAtPath(path, `invalid key ${JSON.stringify(path.at(-1))}: ${inner}`, true);
        return;
      }
      default:
        this.addAtPath(path, this.describeIssue(issue, path));
    }
  }

  private describeIssue(issue: z.core.$ZodIssue, path: readonly Segment[]): string {
    switch (issue.code) {
      case 'invalid_type': {
        const expected = issue.expected === 'int' ? 'integer' : issue.expected;
        if (isMissing(this.raw, path)) return `missing required field (expected ${expected})`;
        const input = issue.input !== undefined ? issue.input : valueAt(this.raw, path);
        return `expected ${expected}, got ${describeValue(input)}`;
      }
      case 'too_small': {
        if (issue.origin === 'string') return 'must not be empty';
        if (issue.origin === 'array' || issue.origin === 'set')
          return `expected at least ${issue.minimum} item(s)`;
        const op = issue.inclusive ? '>=' : '>';
        return `expected number ${op} ${issue.minimum}, got ${describeValue(issue.input)}`;
      }
      case 'too_big': {
        if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
        if (issue.origin === 'array' || issue.origin === 'set') return `expected at most ${issue.maximum} item(s)`;
        const op = issue.inclusive ? '<=' : '<';
        return `expected number ${op} ${issue.maximum}, got ${describeValue(issue.input)}`;
      }
      case 'invalid_value': {
        const options = issue.values.map((v) => String(v));
        if (isMissing(this.raw, path)) return `missing required field (expected one of ${options.join(', ')})`;
        const got = issue.input;
        const hint = typeof got === 'string' ? didYouMean(got, options) : '';
        return `expected one of ${options.join(', ')}, got ${describeValue(got)}${hint}`;
      }
      default:
        return issue.message;
    }
  }

  /** `models[3] (id: gpt-4o)`, `providers.openai`, or the top-level key. */
  entryLabel(path: readonly Segment[]): string {
    const [head, index] = path;
    if (head === 'models' && typeof index === 'number') {
      const id = valueAt(this.raw, ['models', index, 'id']);
      return typeof id === 'string' ? `models[${index}] (id: ${id})` : `models[${index}]`;
    }
    if (head === 'providers' && path.length >= 2) return `providers.${String(index)}`;
    return head === undefined ? '(catalog root)' : String(head);
  }

  private fieldPath(path: readonly Segment[]): readonly Segment[] {
    const [head] = path;
    if ((head === 'models' || head === 'providers') && path.length >= 2) return path.slice(2);
    return path.slice(1);
  }

  /**
   * Walk the YAML node tree along `path`; stop at the deepest node that exists
   * (a missing field points at its parent mapping, i.e. the entry). With
   * `key`, a final mapping key points at the key itself rather than its value.
   */
  private position(path: readonly Segment[], key: boolean): { line: number; col: number } {
    let node: unknown = this.doc.contents;
    let offset = rangeStart(node) ?? 0;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && scalarKey(p.key) === String(seg));
        if (!pair) break;
        const last = i === path.length - 1;
        if (key && last) {
          offset = rangeStart(pair.key) ?? offset;
          break;
        }
        // `field:` with no value: point at the key.
        next = pair.value ?? pair.key;
      } else if (isSeq(node) && typeof seg === 'number') {
        next = node.items[seg];
      } else {
        break;
      }
      const start = rangeStart(next);
      if (start === undefined) break;
      offset = start;
      node = next;
      if (isAlias(node)) break; // don't follow anchors to another place in the file
    }
    return this.lc.linePos(offset);
  }
}

function scalarKey(k: unknown): string | undefined {
  if (isScalar(k)) return String(k.value);
  return typeof k === 'string' || typeof k === 'number' ? String(k) : undefined;
}

function rangeStart(node: unknown): number | undefined {
  if (node && typeof node === 'object' && 'range' in node) {
    const range = (node as { range?: [number, number, number] | null }).range;
    if (range) return range[0];
  }
  return undefined;
}

function valueAt(root: unknown, path: readonly Segment[]): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

function isMissing(root: unknown, path: readonly Segment[]): boolean {
  if (path.length === 0) return root === undefined;
  const parent = valueAt(root, path.slice(0, -1));
  if (parent === null || typeof parent !== 'object') return false;
  return !Object.hasOwn(parent, path.at(-1)!);
}

function formatPath(path: readonly Segment[]): string {
  let s = '';
  for (const seg of path) s += typeof seg === 'number' ? `[${seg}]` : s === '' ? seg : `.${seg}`;
  return s;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

/** Keys allowed by the (strict) object schema found at `path`, for "did you mean". */
function allowedKeysAt(schema: z.ZodType, path: readonly Segment[]): string[] | undefined {
  let s: unknown = schema;
  const unwrap = () => {
    for (;;) {
      if (s instanceof z.ZodOptional || s instanceof z.ZodNullable || s instanceof z.ZodDefault) s = s.unwrap();
      else if (s instanceof z.ZodPipe) s = s.in;
      else return;
    }
  };
  for (const seg of path) {
    unwrap();
    if (s instanceof z.ZodObject && typeof seg === 'string') s = (s.shape as Record<string, unknown>)[seg];
    else if (s instanceof z.ZodArray && typeof seg === 'number') s = s.element;
    else if (s instanceof z.ZodRecord && typeof seg === 'string') s = s.valueType;
    else return undefined;
  }
  unwrap();
  return s instanceof z.ZodObject ? Object.keys(s.shape) : undefined;
}

function didYouMean(input: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDist = Infinity;
  for (const c of candidates) {
    const d = editDistance(input.toLowerCase(), c.toLowerCase());
    if (d < bestDist) {
      best = c;
      bestDist = d;
    }
  }
  const limit = Math.max(1, Math.floor(input.length / 3));
  if (best === undefined || bestDist > limit) {
    // "json" -> "json_mode": an unambiguous prefix is a good guess too.
    const prefixed = candidates.filter((c) => input.length >= 3 && c.toLowerCase().startsWith(input.toLowerCase()));
    best = prefixed.length === 1 ? prefixed[0] : undefined;
  }
  return best !== undefined ? ` (did you mean "${best}"?)` : '';
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = cur;
  }
  return prev[b.length]!;
}
