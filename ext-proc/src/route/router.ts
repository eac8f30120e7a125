import type { Catalog, Model, Tier } from '../catalog/load.js';
import type { Classification, ComplexityTier } from '../classify/types.js';
import { GatewayError } from '../errors.js';
import type { Affinity } from './affinity.js';
import type { LatencyTracker } from './latency.js';
import type { RoutingPolicy } from './policy.js';
import type { ProviderQuotas } from './provider-quota.js';

/** The model name that asks the router to choose. */
export const AUTO_MODEL = 'auto';

export interface RouteInput {
  /** The model as the caller named it. */
  requested: string;
  /** The catalog model for an explicit name (undefined for `auto`). */
  requestedModel: Model | undefined;
  policy: RoutingPolicy;
  classification: Classification;
  /** The caller's output limit, if any. */
  maxOutputTokens: number | undefined;
  /** The request must stay on local (on-prem) backends. */
  localOnly: boolean;
  /** Configured here, allowed for the key and tenant, not cooling down. */
  usable: (m: Model) => boolean;
  /** Conversation key (route/affinity.ts), absent for single-turn calls. */
  affinityKey: string | undefined;
}

export interface RouteDecision {
  model: Model;
  /** Short, for the x-gateway-route-reason header and logs. */
  reason: string;
}

const TIER_RANK: Record<ComplexityTier, number> = { simple: 0, medium: 1, complex: 2 };
const QUALITY_RANK: Record<Tier, number> = { economy: 0, standard: 1, premium: 2 };
/** Output tokens assumed for pricing when the caller sets no limit. */
const TYPICAL_OUTPUT_TOKENS = 500;

/** Local backends: the request never leaves the on-prem pools. */
export function isLocal(m: Model): boolean {
  return m.provider.apiKeyEnv === undefined;
}

/**
 * Picks the model for a request: the cheapest candidate that will answer well. Candidates come
 * from the policy (per tier, domain-specialised ones first), are filtered by what the request
 * needs and what is usable now, and are scored on price, quality fit and observed latency.
 * Conversations keep their model (affinity) unless their tier rises. Synchronous, no I/O.
 */
export class Router {
  constructor(
    private readonly catalog: Catalog,
    private readonly deps: { latency: LatencyTracker; quotas: ProviderQuotas; affinity: Affinity; random?: () => number },
  ) {}

  route(r: RouteInput): RouteDecision {
    const explicit = r.requested !== AUTO_MODEL;
    if (explicit && !r.policy.rerouteExplicit) {
      const m = r.requestedModel!;
      if (r.localOnly && !isLocal(m)) {
        throw new GatewayError('permission', `The model \`${m.id}\` is not a local model, and this request must stay on local backends.`, {
          param: 'model',
          code: 'local_only',
        });
      }
      return { model: m, reason: 'explicit' };
    }
    const c = r.classification;
    const tier = c.tier;
    const specialists = r.policy.domains[c.domain]?.[tier] ?? [];
    const names = [...specialists, ...r.policy.tiers[tier]];
    if (explicit) names.unshift(r.requestedModel!.id);
    let candidates = unique(names.map((n) => this.catalog.find(n)).filter((m): m is Model => m !== undefined));
    // Local only, and the policy names no local model for this tier: every local model is a candidate.
    if (r.localOnly && !candidates.some(isLocal)) candidates = this.catalog.models.filter(isLocal);

    const needTokens = c.estimatedTokens + (r.maxOutputTokens ?? 0);
    const fitsRequest = (m: Model) =>
      r.usable(m) &&
      (!r.localOnly || isLocal(m)) &&
      (!c.capabilities.tools || m.capabilities.has('tools')) &&
      (!c.capabilities.vision || m.capabilities.has('vision')) &&
      (!c.capabilities.json || m.capabilities.has('json_mode'));
    const fitsContext = (m: Model) => needTokens <= m.contextWindow;
    const underQuota = (m: Model) => !this.deps.quotas.nearLimit(m.provider.id);

    let pool = candidates.filter((m) => fitsRequest(m) && fitsContext(m) && underQuota(m));
    let reason = 'score';
    if (pool.length === 0 && candidates.some((m) => fitsRequest(m) && underQuota(m))) {
      // Too long for every candidate: the cheapest model anywhere in the catalog that holds it,
      // at or above the tier asked for.
      const larger = this.catalog.models.filter((m) => fitsRequest(m) && fitsContext(m) && underQuota(m) && QUALITY_RANK[m.tier] >= TIER_RANK[tier]);
      pool = larger.length > 0 ? [cheapest(larger, c.estimatedTokens, r.maxOutputTokens)] : [];
      reason = 'context-fallback';
    }
    if (pool.length === 0) {
      // Every candidate is near a provider quota: better a possible 429 than a refusal.
      pool = candidates.filter((m) => fitsRequest(m) && fitsContext(m));
      reason = 'quota-exhausted';
    }
    if (pool.length === 0) {
      // Nothing this caller may use could ever hold it (too long, or a capability none has): the
      // request's problem, not a passing one.
      const servable = (m: Model) =>
        (!r.localOnly || isLocal(m)) && (!c.capabilities.tools || m.capabilities.has('tools')) && (!c.capabilities.vision || m.capabilities.has('vision'));
      const ever = this.catalog.models.some((m) => servable(m) && fitsContext(m));
      throw this.noRoute(r, needTokens, !ever);
    }

    const prior = r.affinityKey ? this.deps.affinity.get(r.affinityKey) : undefined;
    let chosen: Model | undefined;
    if (prior && TIER_RANK[tier] <= TIER_RANK[prior.tier]) {
      // The conversation's model, if it can still take the request (it need not be a candidate
      // of this turn's tier: a conversation that rose to a stronger model stays there).
      const m = this.catalog.find(prior.model);
      if (m && fitsRequest(m) && fitsContext(m) && underQuota(m)) {
        chosen = m;
        reason = 'affinity';
      }
    }
    if (!chosen && reason === 'score') {
      chosen = this.split(r.policy, tier, pool);
      if (chosen) reason = 'split';
    }
    if (!chosen && reason === 'score') {
      // A domain's specialised models (or LoRA adapters) take its requests when they can.
      const special = pool.filter((m) => specialists.includes(m.id));
      if (special.length > 0) {
        chosen = this.best(special, r, tier, c.domain);
        reason = 'domain';
      }
    }
    chosen ??= this.best(pool, r, tier, c.domain);
    if (r.affinityKey)
      this.deps.affinity.set(r.affinityKey, chosen.id, prior && chosen.id === prior.model && TIER_RANK[prior.tier] > TIER_RANK[tier] ? prior.tier : tier);
    return { model: chosen, reason };
  }

  /** Weighted split among the tier's split members still in the pool. */
  private split(policy: RoutingPolicy, tier: ComplexityTier, pool: Model[]): Model | undefined {
    const shares = policy.splits[tier]?.filter((s) => pool.some((m) => m.id === s.model));
    if (!shares || shares.length === 0) return undefined;
    const total = shares.reduce((s, x) => s + x.weight, 0);
    let pick = (this.deps.random ?? Math.random)() * total;
    for (const s of shares) {
      pick -= s.weight;
      if (pick < 0) return pool.find((m) => m.id === s.model);
    }
    return pool.find((m) => m.id === shares.at(-1)!.model);
  }

  /**
   * Lowest score wins: price (expected cost of this call, relative to the dearest candidate),
   * quality fit (a tier below what the request needs costs a full point per level; above it, a
   * little, since it is paid for), observed latency (relative to the slowest), weighted by the
   * policy; domain-specialised models get a bonus, and list order breaks ties.
   */
  private best(pool: Model[], r: RouteInput, tier: ComplexityTier, domain: string): Model {
    const w = r.policy.weights;
    const out = r.maxOutputTokens ?? TYPICAL_OUTPUT_TOKENS;
    const price = pool.map((m) => cost(m, r.classification.estimatedTokens, out));
    const maxPrice = Math.max(...price, 1e-12);
    const lat = pool.map((m) => this.deps.latency.get(m.id));
    const known = lat.filter((x): x is number => x !== undefined);
    const maxLat = known.length > 0 ? Math.max(...known) : 1;
    const typical = known.length > 0 ? known.reduce((a, b) => a + b, 0) / known.length : 1;
    const specialised = new Set(r.policy.domains[domain as keyof RoutingPolicy['domains']]?.[tier] ?? []);
    let bestIdx = 0;
    let bestScore = Infinity;
    pool.forEach((m, i) => {
      const need = TIER_RANK[tier];
      const have = QUALITY_RANK[m.tier];
      const fit = Math.max(0, need - have) * 1 + Math.max(0, have - need) * 0.15 - (specialised.has(m.id) ? 0.2 : 0);
      const score = w.price * (price[i]! / maxPrice) + w.quality * fit + w.latency * ((lat[i] ?? typical) / maxLat) + i * 0.001;
      if (score < bestScore) {
        bestScore = score;
        bestIdx = i;
      }
    });
    return pool[bestIdx]!;
  }

  private noRoute(r: RouteInput, needTokens: number, never: boolean): GatewayError {
    const c = r.classification;
    const needs = [
      c.capabilities.tools && 'tools',
      c.capabilities.vision && 'vision',
      c.capabilities.json && 'JSON output',
      r.localOnly && 'a local backend',
      `${needTokens} tokens of context`,
    ].filter(Boolean);
    if (never) return new GatewayError('invalid_request', `No model this request may use can serve it (it needs ${needs.join(', ')}).`, { code: 'no_route' });
    return new GatewayError('unavailable', `No available model can serve this request (it needs ${needs.join(', ')}).`, { code: 'no_route' });
  }
}

function cost(m: Model, input: number, output: number): number {
  return (input * m.pricing.inputPerMTok + output * m.pricing.outputPerMTok) / 1e6;
}

function cheapest(models: Model[], input: number, maxOut: number | undefined): Model {
  const out = maxOut ?? TYPICAL_OUTPUT_TOKENS;
  return models.reduce((a, b) => (cost(b, input, out) < cost(a, input, out) ? b : a));
}

function unique(models: Model[]): Model[] {
  return [...new Set(models)];
}
