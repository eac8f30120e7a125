/**
 * Tenant policies as data: a YAML file (path from TENANTS_PATH) with per-tenant limits, a model
 * allow-list and cache settings, validated strictly with zod. Every problem is reported like the
 * model catalog's, located in the file and naming the tenant:
 *
 *   models/tenants.yaml:4:28: tenant acme: limits.rpm: expected number > 0, got number 0
 *
 * Three stages, each reporting all of its problems before the load stops: YAML syntax → schema
 * (types, ranges, unknown or missing keys) → checks that need more than one field (daily budget
 * above the monthly one, models unknown to the catalog when a resolver is given).
 */
import { readFileSync } from 'node:fs';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import { z } from 'zod';
import { TENANT_NAME_RE } from '../auth/keys.js';
import { MODEL_NAME_RE } from '../catalog/schema.js';

/** Request and spend limits. Absent field = no limit of that kind. */
export interface Limits {
  /** Requests per minute. */
  rpm?: number;
  /** Tokens (input + output) per minute. */
  tpm?: number;
  /** USD per UTC day. */
  usdPerDay?: number;
  /** USD per UTC calendar month. */
  usdPerMonth?: number;
}

export interface TenantPolicy {
  /** Always present; empty when the tenant has no limits. */
  limits: Limits;
  /** Allow-list of model names; absent = every catalog model. */
  models?: ReadonlySet<string>;
  /** Per-tenant cache opt-out / TTL; absent = the gateway default. */
  cache?: { enabled: boolean; ttlSeconds?: number };
}

export interface TenantPolicyOptions {
  /**
   * Maps a model name (id or alias) to its canonical catalog id, or undefined when unknown. Given
   * it, an allow-list entry the catalog does not know is an error, and aliases are stored as the
   * model's id (so the request path compares the resolved model's id).
   */
  resolveModel?: (name: string) => string | undefined;
}

/** One validation problem, already located in the source file. */
export interface TenantPolicyIssue {
  /** 1-based; 0 when unknown (e.g. the file could not be read). */
  line: number;
  col: number;
  /** Path inside the document, e.g. ['tenants', 'acme', 'limits', 'rpm']. */
  path: readonly (string | number)[];
  /** The formatted one-line message (also a line of TenantPolicyError.message). */
  message: string;
}

export class TenantPolicyError extends Error {
  readonly source: string;
  readonly issues: readonly TenantPolicyIssue[];

  constructor(source: string, issues: readonly TenantPolicyIssue[]) {
    super(issues.map((i) => i.message).join('\n'));
    this.name = 'TenantPolicyError';
    this.source = source;
    this.issues = issues;
  }
}

// ---------------------------------------------------------------------------
// Schema (snake_case, as written in the YAML)

const PositiveInt = z.number().int().positive();
const PositiveUsd = z.number().positive().finite();

export const LimitsSchema = z.strictObject({
  rpm: PositiveInt.optional(),
  tpm: PositiveInt.optional(),
  usd_per_day: PositiveUsd.optional(),
  usd_per_month: PositiveUsd.optional(),
});

const ModelListSchema = z
  .array(z.string().regex(MODEL_NAME_RE, 'model name must not be empty or contain whitespace'))
  .min(1, 'an empty allow-list would refuse every model; omit `models` to allow all catalog models')
  .superRefine((names, ctx) => {
    const seen = new Set<string>();
    names.forEach((n, i) => {
      if (seen.has(n)) ctx.addIssue({ code: 'custom', path: [i], message: `model "${n}" is listed twice` });
      seen.add(n);
    });
  });

const CacheSchema = z.strictObject({
  enabled: z.boolean(),
  ttl_seconds: PositiveInt.optional(),
});

const TenantSchema = z.strictObject({
  limits: LimitsSchema.optional(),
  models: ModelListSchema.optional(),
  cache: CacheSchema.optional(),
});

const TenantNameSchema = z.string().regex(TENANT_NAME_RE, 'tenant names may only use letters, digits, _ . - (max 64)');

export const TenantsFileSchema = z.strictObject({
  tenants: z.record(TenantNameSchema, TenantSchema),
});

type RawTenantsFile = z.infer<typeof TenantsFileSchema>;
type RawTenant = z.infer<typeof TenantSchema>;

// ---------------------------------------------------------------------------
// Public API

/**
 * Reads and validates the tenants file. A file that does not exist means "no policies" (an empty
 * map), unless `mustExist` — use that when the operator named the path explicitly and a typo in it
 * should not silently lift every limit. An undefined path also means no policies.
 */
export function loadTenantPolicies(
  path: string | undefined,
  options: TenantPolicyOptions & { mustExist?: boolean } = {},
): ReadonlyMap<string, TenantPolicy> {
  if (path === undefined || path === '') return new Map();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !options.mustExist) return new Map();
    const reason = err instanceof Error ? err.message : String(err);
    throw new TenantPolicyError(path, [{ line: 0, col: 0, path: [], message: `${path}: cannot read tenant policies: ${reason}` }]);
  }
  return parseTenantPolicies(text, path, options);
}

export function parseTenantPolicies(text: string, source: string, options: TenantPolicyOptions = {}): ReadonlyMap<string, TenantPolicy> {
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
    raw = doc.toJS();
  } catch (err) {
    reporter.addAt(0, [], `YAML error: ${err instanceof Error ? err.message : String(err)}`);
    reporter.throwIfAny();
  }
  // An empty file (or one holding only comments) declares no tenants.
  if (raw === null || raw === undefined) return new Map();
  reporter.raw = raw;

  const parsed = TenantsFileSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) reporter.addZodIssue(issue);
    reporter.throwIfAny();
    throw new Error('unreachable: schema failed without issues');
  }

  const policies = build(parsed.data, reporter, options);
  reporter.throwIfAny();
  return policies;
}

// ---------------------------------------------------------------------------
// Building the runtime policies (with the checks that span fields)

function build(raw: RawTenantsFile, r: Reporter, options: TenantPolicyOptions): ReadonlyMap<string, TenantPolicy> {
  const out = new Map<string, TenantPolicy>();
  for (const [tenant, t] of Object.entries(raw.tenants)) {
    out.set(tenant, buildTenant(tenant, t, r, options));
  }
  return out;
}

function buildTenant(tenant: string, t: RawTenant, r: Reporter, options: TenantPolicyOptions): TenantPolicy {
  const base = ['tenants', tenant];
  const limits: Limits = {};
  if (t.limits?.rpm !== undefined) limits.rpm = t.limits.rpm;
  if (t.limits?.tpm !== undefined) limits.tpm = t.limits.tpm;
  if (t.limits?.usd_per_day !== undefined) limits.usdPerDay = t.limits.usd_per_day;
  if (t.limits?.usd_per_month !== undefined) limits.usdPerMonth = t.limits.usd_per_month;
  if (limits.usdPerDay !== undefined && limits.usdPerMonth !== undefined && limits.usdPerDay > limits.usdPerMonth) {
    r.addAtPath(
      [...base, 'limits', 'usd_per_day'],
      `usd_per_day (${limits.usdPerDay}) exceeds usd_per_month (${limits.usdPerMonth}); the daily budget could never be reached`,
    );
  }

  const policy: TenantPolicy = { limits: Object.freeze(limits) };

  if (t.models) {
    const models = new Set<string>();
    t.models.forEach((name, i) => {
      if (!options.resolveModel) {
        models.add(name);
        return;
      }
      const id = options.resolveModel(name);
      if (id === undefined) r.addAtPath([...base, 'models', i], `unknown model "${name}" (not in the model catalog)`);
      else models.add(id);
    });
    policy.models = models;
  }

  if (t.cache) {
    const cache: { enabled: boolean; ttlSeconds?: number } = { enabled: t.cache.enabled };
    if (t.cache.ttl_seconds !== undefined) cache.ttlSeconds = t.cache.ttl_seconds;
    policy.cache = Object.freeze(cache);
  }
  return Object.freeze(policy);
}

// ---------------------------------------------------------------------------
// Locating and formatting issues

type Segment = string | number;

class Reporter {
  readonly issues: TenantPolicyIssue[] = [];
  raw: unknown = undefined;

  constructor(
    private readonly source: string,
    private readonly doc: Document,
    private readonly lc: LineCounter,
  ) {}

  throwIfAny(): void {
    if (this.issues.length === 0) return;
    const sorted = [...this.issues].sort((a, b) => a.line - b.line || a.col - b.col);
    throw new TenantPolicyError(this.source, sorted);
  }

  addAt(offset: number | undefined, path: readonly Segment[], text: string): void {
    const { line, col } = this.lc.linePos(offset ?? 0);
    this.issues.push({ line, col, path, message: `${this.source}:${line}:${col}: ${text}` });
  }

  /** An issue located at `path`, prefixed with the tenant and the field. */
  addAtPath(path: readonly Segment[], text: string, pointAtKey = false): void {
    const { line, col } = this.position(path, pointAtKey);
    const body = [entryLabel(path), formatPath(fieldPath(path)), text].filter((s) => s !== '').join(': ');
    this.issues.push({ line, col, path, message: `${this.source}:${line}:${col}: ${body}` });
  }

  addZodIssue(issue: z.core.$ZodIssue): void {
    const path = issue.path.filter((s): s is Segment => typeof s === 'string' || typeof s === 'number');
    switch (issue.code) {
      case 'unrecognized_keys': {
        const allowed = allowedKeysAt(path);
        for (const key of issue.keys) {
          const hint = allowed ? `${didYouMean(key, allowed)} (allowed: ${allowed.join(', ')})` : '';
          this.addAtPath([...path, key], `unknown key "${key}"${hint}`, true);
        }
        return;
      }
      case 'invalid_key': {
        const inner = issue.issues.map((i) => i.message).join('; ');
        this.addAtPath(path, `invalid tenant name ${JSON.stringify(path.at(-1))}: ${inner}`, true);
        return;
      }
      default:
        this.addAtPath(path, this.describe(issue, path));
    }
  }

  private describe(issue: z.core.$ZodIssue, path: readonly Segment[]): string {
    switch (issue.code) {
      case 'invalid_type': {
        const expected = issue.expected === 'int' ? 'integer' : issue.expected === 'object' || issue.expected === 'record' ? 'a mapping' : issue.expected;
        if (isMissing(this.raw, path)) return `missing required field (expected ${expected})`;
        return `expected ${expected}, got ${describeValue(valueAt(this.raw, path))}`;
      }
      case 'too_small': {
        if (issue.origin === 'array') return issue.message;
        const op = issue.inclusive ? '>=' : '>';
        return `expected number ${op} ${issue.minimum}, got ${describeValue(valueAt(this.raw, path))}`;
      }
      case 'too_big': {
        const op = issue.inclusive ? '<=' : '<';
        return `expected number ${op} ${issue.maximum}, got ${describeValue(valueAt(this.raw, path))}`;
      }
      default:
        return issue.message;
    }
  }

  /**
   * Walks the YAML node tree along `path` and stops at the deepest node that exists (a missing
   * field points at its parent mapping). With `key`, a final mapping key points at the key.
   */
  private position(path: readonly Segment[], key: boolean): { line: number; col: number } {
    let node: unknown = this.doc.contents;
    let offset = rangeStart(node) ?? 0;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i]!;
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) break;
        if (key && i === path.length - 1) {
          offset = rangeStart(pair.key) ?? offset;
          break;
        }
        next = pair.value ?? pair.key; // `field:` with no value: point at the key
      } else if (isSeq(node) && typeof seg === 'number') {
        next = node.items[seg];
      } else {
        break;
      }
      const start = rangeStart(next);
      if (start === undefined) break;
      offset = start;
      node = next;
      if (isAlias(node)) break; // don't follow anchors elsewhere in the file
    }
    return this.lc.linePos(offset);
  }
}

/** `tenant acme` for anything under a tenant, else the top-level key. */
function entryLabel(path: readonly Segment[]): string {
  const [head, tenant] = path;
  if (head === 'tenants' && tenant !== undefined) return `tenant ${String(tenant)}`;
  return head === undefined ? '(file root)' : String(head);
}

function fieldPath(path: readonly Segment[]): readonly Segment[] {
  return path[0] === 'tenants' ? path.slice(2) : path.slice(1);
}

function formatPath(path: readonly Segment[]): string {
  let s = '';
  for (const seg of path) s += typeof seg === 'number' ? `[${seg}]` : s === '' ? seg : `.${seg}`;
  return s;
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

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

/** Keys allowed where an unknown key was found: the file root, a tenant, or one of its sections. */
function allowedKeysAt(path: readonly Segment[]): string[] | undefined {
  if (path.length === 0) return Object.keys(TenantsFileSchema.shape);
  if (path[0] !== 'tenants') return undefined;
  if (path.length === 2) return Object.keys(TenantSchema.shape);
  if (path.length === 3 && path[2] === 'limits') return Object.keys(LimitsSchema.shape);
  if (path.length === 3 && path[2] === 'cache') return Object.keys(CacheSchema.shape);
  return undefined;
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
  return best !== undefined && bestDist <= Math.max(1, Math.floor(input.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
