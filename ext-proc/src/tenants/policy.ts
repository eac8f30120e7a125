/**
 * Tenant policies as data: a YAML file (path from TENANTS_PATH) with per-tenant limits, a model
 * allow-list, cache, PII and prompt-injection guard settings, validated strictly with zod. Every
 * problem is reported like the model catalog's, located in the file and naming the tenant:
 *
 *   models/tenants.yaml:4:28: tenant acme: limits.rpm: expected number > 0, got number 0
 *
 * Three stages, each reporting all of its problems before the load stops: YAML syntax → schema
 * (types, ranges, unknown or missing keys) → checks that need more than one field (daily budget
 * above the monthly one, models unknown to the catalog when a resolver is given).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { TENANT_NAME_RE } from '../auth/keys.js';
import { MODEL_NAME_RE } from '../catalog/schema.js';
import { YamlSource, YamlSourceError } from '../config/yaml-source.js';
import type { IssueWording, LocatedIssue } from '../config/yaml-source.js';
import { PII_MODES, type PiiMode } from '../safety/pii/types.js';
import { GUARD_MODES, type GuardMode } from '../safety/guard/verdict.js';

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
  /**
   * Mesh identities (e.g. SPIFFE ids from the mTLS client certificate) that authenticate as this
   * tenant without a gateway key, read from the IDENTITY_HEADER the mesh sets.
   */
  identities?: readonly string[];
  /** Name of the routing policy in ROUTING_PATH (default: `default`). */
  routingPolicy?: string;
  /** Every request of this tenant stays on local (on-prem) backends. */
  localOnly?: boolean;
  /** Personal data in this tenant's prompts; absent = the gateway default (PII_MODE). */
  pii?: PiiMode;
  /** With redaction, the values go back into the answer this tenant's callers get. */
  piiRestore?: boolean;
  /** The prompt-injection guard for this tenant's calls; absent = the gateway default (GUARD_MODE). */
  guard?: GuardMode;
}

export interface TenantPolicyOptions {
  /**
   * Maps a model name (id or alias) to its canonical catalog id, or undefined when unknown. Given
   * it, an allow-list entry the catalog does not know is an error, and aliases are stored as the
   * model's id (so the request path compares the resolved model's id).
   */
  resolveModel?: (name: string) => string | undefined;
  /** Names of the routing policies; given, a tenant naming another one is an error. */
  routingPolicies?: readonly string[];
}

/** One validation problem, already located in the source file (a line of TenantPolicyError.message). */
export type TenantPolicyIssue = LocatedIssue;

export class TenantPolicyError extends YamlSourceError {
  constructor(source: string, issues: readonly TenantPolicyIssue[]) {
    super('TenantPolicyError', source, issues);
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
  identities: z.array(z.string().min(1).regex(/^\S+$/, 'an identity must not contain whitespace')).min(1).optional(),
  routing_policy: z.string().min(1).optional(),
  local_only: z.boolean().optional(),
  pii: z.enum(PII_MODES as [PiiMode, ...PiiMode[]]).optional(),
  pii_restore: z.boolean().optional(),
  guard: z.enum(GUARD_MODES).optional(),
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
export function loadTenantPolicies(path: string | undefined, options: TenantPolicyOptions & { mustExist?: boolean } = {}): ReadonlyMap<string, TenantPolicy> {
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
  const yaml = YamlSource.parse(text, source, TENANT_WORDING, TenantPolicyError);
  // An empty file (or one holding only comments) declares no tenants.
  if (yaml.value === null || yaml.value === undefined) return new Map();
  const raw = yaml.validate(TenantsFileSchema);
  const policies = build(raw, yaml, options);
  yaml.throwIfAny();
  return policies;
}

// ---------------------------------------------------------------------------
// Building the runtime policies (with the checks that span fields)

function build(raw: RawTenantsFile, r: YamlSource, options: TenantPolicyOptions): ReadonlyMap<string, TenantPolicy> {
  const out = new Map<string, TenantPolicy>();
  const owner = new Map<string, string>();
  for (const [tenant, t] of Object.entries(raw.tenants)) {
    out.set(tenant, buildTenant(tenant, t, r, options));
    (t.identities ?? []).forEach((id, i) => {
      const prev = owner.get(id);
      if (prev !== undefined) r.addAtPath(['tenants', tenant, 'identities', i], `identity "${id}" already belongs to tenant ${prev}`);
      else owner.set(id, tenant);
    });
  }
  return out;
}

/** Identity → tenant, over every tenant's `identities`. */
export function identityMap(policies: ReadonlyMap<string, TenantPolicy>): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  for (const [tenant, p] of policies) for (const id of p.identities ?? []) out.set(id, tenant);
  return out;
}

function buildTenant(tenant: string, t: RawTenant, r: YamlSource, options: TenantPolicyOptions): TenantPolicy {
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

  if (t.identities) policy.identities = Object.freeze([...t.identities]);
  if (t.routing_policy !== undefined) {
    if (options.routingPolicies && !options.routingPolicies.includes(t.routing_policy)) {
      r.addAtPath([...base, 'routing_policy'], `unknown routing policy "${t.routing_policy}" (known: ${options.routingPolicies.join(', ')})`);
    }
    policy.routingPolicy = t.routing_policy;
  }
  if (t.local_only !== undefined) policy.localOnly = t.local_only;
  if (t.pii !== undefined) policy.pii = t.pii;
  if (t.guard !== undefined) policy.guard = t.guard;
  if (t.pii_restore !== undefined) {
    // Restoring needs placeholders to restore from; with detection only there are none.
    if (t.pii_restore && t.pii !== undefined && t.pii !== 'redact') {
      r.addAtPath([...base, 'pii_restore'], `pii_restore needs pii: redact (this tenant has pii: ${t.pii})`);
    }
    policy.piiRestore = t.pii_restore;
  }

  if (t.cache) {
    const cache: { enabled: boolean; ttlSeconds?: number } = { enabled: t.cache.enabled };
    if (t.cache.ttl_seconds !== undefined) cache.ttlSeconds = t.cache.ttl_seconds;
    policy.cache = Object.freeze(cache);
  }
  return Object.freeze(policy);
}

// ---------------------------------------------------------------------------
// Naming the places in the file

const TENANT_WORDING: IssueWording = {
  /** `tenant acme` for anything under a tenant, else the top-level key. */
  entryLabel(path) {
    const [head, tenant] = path;
    if (head === 'tenants' && tenant !== undefined) return `tenant ${String(tenant)}`;
    return head === undefined ? '(file root)' : String(head);
  },
  fieldPath: (path) => (path[0] === 'tenants' ? path.slice(2) : path.slice(1)),
  keyNoun: 'tenant name',
  typeNames: { object: 'a mapping', record: 'a mapping' },
  hintPrefixes: false,
  schemaListMinimum: true,
};
