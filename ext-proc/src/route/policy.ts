/**
 * Routing policies as data: `models/routing.yaml` (ROUTING_PATH) names policies — candidate models
 * per complexity tier, specialised models per domain, scoring weights, weighted splits — plus
 * provider free-tier quotas and canaries. Tenants pick a policy by name in their tenant policy
 * (`routing_policy`), else `default` applies. Validated strictly with zod; errors name file, line
 * and entry, like the catalog's:
 *
 *   models/routing.yaml:12:17: policy default: tiers.simple[2]: unknown model "gpt-9"
 */
import { DEFAULT_QUALITY_BIAS, PRESET_DIALS, QUALITY_BIAS_PRESETS } from '../classify/decide.js';
import type { QualityBias, TierDial } from '../classify/decide.js';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { COMPLEXITY_TIERS, DOMAINS, type ComplexityTier, type Domain } from '../classify/types.js';
import { MODEL_NAME_RE } from '../catalog/schema.js';
import { YamlSource, YamlSourceError } from '../config/yaml-source.js';
import type { IssueWording } from '../config/yaml-source.js';
import { CanaryConfigSchema, type CanaryConfig } from '../canary/canaries.js';
import { canaryConflicts } from '../canary/config.js';

const ModelName = z.string().regex(MODEL_NAME_RE, 'model name must not be empty or contain whitespace');
const ModelList = z.array(ModelName).min(1, 'list at least one model');
const Weight = z.number().min(0).max(1);

const PolicySchema = z.strictObject({
  /** Candidates per tier, best guess first (scoring decides among them). */
  tiers: z.strictObject({ simple: ModelList, medium: ModelList, complex: ModelList }),
  /** Models specialised for a domain (or LoRA adapters), preferred for that domain, per tier. */
  domains: z
    .partialRecord(z.enum(DOMAINS), z.strictObject({ simple: ModelList.optional(), medium: ModelList.optional(), complex: ModelList.optional() }))
    .optional(),
  /** How much price, quality fit and observed latency weigh in the score (they need not sum to 1). */
  weights: z.strictObject({ price: Weight, quality: Weight, latency: Weight }).optional(),
  /** Weighted splits per tier: model → share (e.g. 70/20/5/5); taken among the candidates still usable. */
  splits: z.partialRecord(z.enum(COMPLEXITY_TIERS), z.record(ModelName, z.number().positive())).optional(),
  /** Explicitly named models may be rerouted too (else only `model: "auto"` is). */
  reroute_explicit: z.boolean().optional(),
  /** Every request of tenants on this policy stays on local (on-prem) backends. */
  local_only: z.boolean().optional(),
  /** The model savings are measured against (what the tenant would pay without routing). */
  premium_baseline: ModelName.optional(),
  /** The cost–quality dial of auto-routing: a preset (classify/decide.ts), default balanced. */
  quality_bias: z.enum(QUALITY_BIAS_PRESETS).optional(),
  /** Or the threshold itself: the probability at which a request goes up a tier (0–1). */
  complex_threshold: z.number().min(0).max(1).optional(),
});

const QuotaSchema = z
  .strictObject({ requests_per_minute: z.int().positive().optional(), tokens_per_day: z.int().positive().optional() })
  .refine((q) => q.requests_per_minute !== undefined || q.tokens_per_day !== undefined, 'give requests_per_minute, tokens_per_day or both');

export const RoutingFileSchema = z.strictObject({
  policies: z
    .record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'policy names use a-z, 0-9, _ and -'), PolicySchema)
    .refine((p) => 'default' in p, 'a policy named `default` is required'),
  /** Free-tier limits of a provider: traffic is steered away before the provider's own 429. */
  provider_quotas: z.record(z.string(), QuotaSchema).optional(),
  canaries: z.array(z.unknown()).optional(),
});

export interface RoutingPolicy {
  name: string;
  tiers: Record<ComplexityTier, readonly string[]>;
  domains: Partial<Record<Domain, Partial<Record<ComplexityTier, readonly string[]>>>>;
  weights: { price: number; quality: number; latency: number };
  splits: Partial<Record<ComplexityTier, ReadonlyArray<{ model: string; weight: number }>>>;
  rerouteExplicit: boolean;
  localOnly: boolean;
  premiumBaseline: string | undefined;
  /** How auto-routing turns the classifier's probabilities into a tier, and its name for the route reason. */
  tierDial: TierDial;
  dialName: string;
}

export interface ProviderQuota {
  requestsPerMinute?: number;
  tokensPerDay?: number;
}

export interface RoutingConfig {
  policies: ReadonlyMap<string, RoutingPolicy>;
  providerQuotas: ReadonlyMap<string, ProviderQuota>;
  canaries: CanaryConfig[];
}

export const DEFAULT_WEIGHTS = { price: 0.5, quality: 0.35, latency: 0.15 };

/** A preset's dial, or an explicit threshold with the preset's (or balanced's) uncertainty margin. */
function tierDialOf(bias: QualityBias | undefined, threshold: number | undefined): { tierDial: TierDial; dialName: string } {
  const preset = PRESET_DIALS[bias ?? DEFAULT_QUALITY_BIAS];
  if (threshold === undefined) return { tierDial: preset, dialName: bias ?? DEFAULT_QUALITY_BIAS };
  return { tierDial: { threshold, margin: preset.margin }, dialName: 'custom' };
}

export class RoutingPolicyError extends YamlSourceError {
  constructor(source: string, issues: ConstructorParameters<typeof YamlSourceError>[2]) {
    super('RoutingPolicyError', source, issues);
  }
}

/** `resolveModel`: catalog id for a name (id or alias), undefined when unknown. */
export function loadRoutingConfig(path: string, resolveModel: (name: string) => string | undefined, providerIds: readonly string[]): RoutingConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new RoutingPolicyError(path, [{ line: 0, col: 0, path: [], message: `${path}: cannot read routing policies: ${reason}` }]);
  }
  return parseRoutingConfig(text, path, resolveModel, providerIds);
}

export function parseRoutingConfig(
  text: string,
  source: string,
  resolveModel: (name: string) => string | undefined,
  providerIds: readonly string[],
): RoutingConfig {
  const yaml = YamlSource.parse(text, source, WORDING, RoutingPolicyError);
  const raw = yaml.validate(RoutingFileSchema);
  const model = (name: string, path: (string | number)[]): string => {
    const id = resolveModel(name);
    if (id === undefined) yaml.addAtPath(path, `unknown model "${name}" (not in the model catalog)`);
    return id ?? name;
  };
  const policies = new Map<string, RoutingPolicy>();
  for (const [name, p] of Object.entries(raw.policies)) {
    const base = ['policies', name];
    const tiers = Object.fromEntries(COMPLEXITY_TIERS.map((t) => [t, p.tiers[t].map((m, i) => model(m, [...base, 'tiers', t, i]))])) as Record<
      ComplexityTier,
      string[]
    >;
    const domains: RoutingPolicy['domains'] = {};
    for (const [d, perTier] of Object.entries(p.domains ?? {})) {
      if (!perTier) continue;
      domains[d as Domain] = Object.fromEntries(
        Object.entries(perTier).map(([t, list]) => [t, (list ?? []).map((m, i) => model(m, [...base, 'domains', d, t, i]))]),
      );
    }
    const splits: RoutingPolicy['splits'] = {};
    for (const [t, shares] of Object.entries(p.splits ?? {})) {
      if (shares) splits[t as ComplexityTier] = Object.entries(shares).map(([m, weight]) => ({ model: model(m, [...base, 'splits', t, m]), weight }));
    }
    policies.set(name, {
      name,
      tiers,
      domains,
      weights: p.weights ?? DEFAULT_WEIGHTS,
      splits,
      rerouteExplicit: p.reroute_explicit ?? false,
      localOnly: p.local_only ?? false,
      premiumBaseline: p.premium_baseline === undefined ? undefined : model(p.premium_baseline, [...base, 'premium_baseline']),
      ...tierDialOf(p.quality_bias, p.complex_threshold),
    });
  }
  const providerQuotas = new Map<string, ProviderQuota>();
  for (const [provider, q] of Object.entries(raw.provider_quotas ?? {})) {
    if (!providerIds.includes(provider)) yaml.addAtPath(['provider_quotas', provider], `unknown provider "${provider}" (known: ${providerIds.join(', ')})`);
    providerQuotas.set(provider, { requestsPerMinute: q.requests_per_minute, tokensPerDay: q.tokens_per_day });
  }
  const canaries: CanaryConfig[] = [];
  (raw.canaries ?? []).forEach((c, i) => {
    const r = CanaryConfigSchema.safeParse(c);
    if (!r.success) {
      for (const issue of r.error.issues) yaml.addAtPath(['canaries', i, ...(issue.path as (string | number)[])], issue.message);
      return;
    }
    canaries.push({ ...r.data, stable: model(r.data.stable, ['canaries', i, 'stable']), canary: model(r.data.canary, ['canaries', i, 'canary']) });
  });
  for (const c of canaryConflicts(canaries)) yaml.addAtPath(['canaries', c.index, c.field], c.message);
  yaml.throwIfAny();
  return { policies, providerQuotas, canaries };
}

const WORDING: IssueWording = {
  entryLabel(path) {
    const [head, name] = path;
    if (head === 'policies' && name !== undefined) return `policy ${String(name)}`;
    if (head === 'canaries' && typeof name === 'number') return `canaries[${name}]`;
    if (head === 'provider_quotas' && name !== undefined) return `provider_quotas.${String(name)}`;
    return head === undefined ? '(file root)' : String(head);
  },
  fieldPath: (path) => (path[0] === 'policies' || path[0] === 'canaries' || path[0] === 'provider_quotas' ? path.slice(2) : path.slice(1)),
  keyNoun: 'name',
  typeNames: { object: 'a mapping', record: 'a mapping' },
};
