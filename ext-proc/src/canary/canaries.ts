/**
 * Canary releases: a share of the traffic a tenant (or every tenant) sends to a stable model goes
 * to a canary model instead, and the canary is rolled back on its own when it breaks its SLO.
 *
 * Judgement (on every canary outcome, O(1) unless both variants breach): with at least
 * `minSamples` canary observations of what is measured in the sliding window —
 *   - latency: the p95 of the canary's ok calls is above `slo.p95Ms`. Exact, not estimated: the
 *     threshold is a bound of the latency histogram, so "p95 > threshold" is "more than 5 % of the
 *     ok calls were slower than it" counted without error. Needs `minSamples` ok calls: a call
 *     that failed has no meaningful latency (a fast 500 or a cut-off stream), its share is the
 *     error rate's business.
 *   - errors: the canary's failed share of calls is above `slo.maxErrorRate`.
 * A breach rolls the canary back, except when stable breaches the same objective too (with at
 * least `minSamples` of its own in the window): then everything is slow or failing (an outage
 * upstream, an overloaded pool) and the canary is blamed only if it is clearly worse, its p95 or
 * error rate more than `worseBy` (default 1.5) times stable's. Each objective is judged on its
 * own: a canary that is slow while stable is fast is rolled back even if stable is failing.
 * Stable with too few samples to compare (tiny tenant, percent near 100) never excuses a breach.
 *
 * A rollback is final for this `Canaries`: all traffic goes to stable until the configuration is
 * reloaded (a new `Canaries`) or `reset(name)` is called. It is logged, passed to `onRollback`,
 * counted in `llm_gateway_canary_rollbacks_total` and shown by `llm_gateway_canary_active`.
 *
 * The decision is per process. `sharedState` lets replicas agree: this process reports its own
 * rollbacks with `markRolledBack`, and `route` asks `isRolledBack` before sending a request to a
 * canary, adopting a rollback another replica decided. `isRolledBack` is called on the request
 * path and must answer from memory (e.g. a set refreshed from Redis in the background).
 */
import type { Registry } from 'prom-client';
import { rootLogger, type Logger } from '../log/logger.js';
import { canaryConflicts, resolveCanary, type CanaryConfig, type ResolvedCanary } from './config.js';
import { CanaryMetrics, countIndex, type CanaryCounts, type CanarySnapshot, type Variant } from './metrics.js';
import { LatencyWindow, latencyBounds, nearestRank } from './window.js';

export { CanaryConfigSchema, CanaryListSchema, CANARY_DEFAULTS } from './config.js';
export type { CanaryConfig, RawCanaryConfig } from './config.js';
export type { Variant } from './metrics.js';

export interface CanaryDecision {
  canary: string;
  rolledBack: boolean;
  reason?: string;
  canaryP95Ms?: number;
  canaryErrorRate?: number;
  stableP95Ms?: number;
  stableErrorRate?: number;
  /** Canary calls (ok or not) in the window when the decision was taken. */
  samples: number;
}

/** Rollbacks shared between replicas; see the module comment. */
export interface CanarySharedState {
  markRolledBack(name: string, decision: CanaryDecision): void;
  /** Called on the request path: answer from memory. */
  isRolledBack(name: string): boolean;
  /** Called by `reset`; without it a shared rollback is adopted again by the next canary-bound request. */
  clear?(name: string): void;
}

export interface CanariesOptions {
  /** Milliseconds on a clock that does not step back; default `performance.now()`. */
  now?: () => number;
  /** Uniform in [0, 1); default `Math.random`. */
  random?: () => number;
  /** This process rolled a canary back (not called for a rollback adopted from `sharedState`). */
  onRollback?: (d: CanaryDecision) => void;
  registry?: Registry;
  sharedState?: CanarySharedState;
  log?: Pick<Logger, 'warn' | 'info'>;
  /** How much worse than stable a canary must be when stable breaches the same objective. Default 1.5. */
  worseBy?: number;
}

export interface CanaryRoute {
  model: string;
  variant: Variant;
  /** Set whenever a canary covers the request (whichever variant it got): pass it to `record`. */
  canary?: string;
}

const P95 = 0.95;
const SHARED_REASON = 'rolled back by another replica (shared state)';

interface Entry {
  cfg: ResolvedCanary;
  stable: LatencyWindow;
  canary: LatencyWindow;
  counts: CanaryCounts;
  rolledBack: boolean;
  /** Frozen at rollback: what the decision was taken on. */
  decision: CanaryDecision | undefined;
}

/** Canaries of one model: a tenant's own canary wins over one for every tenant. */
interface ModelCanaries {
  all?: Entry;
  tenants?: Map<string, Entry>;
}

export class Canaries {
  private readonly byName = new Map<string, Entry>();
  private readonly byModel = new Map<string, ModelCanaries>();
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly metrics: CanaryMetrics;
  private readonly log: Pick<Logger, 'warn' | 'info'>;
  private readonly worseBy: number;

  constructor(
    configs: CanaryConfig[],
    private readonly o: CanariesOptions = {},
  ) {
    const problems = configProblems(configs);
    if (problems.length > 0) throw new Error(`invalid canary configuration:\n${problems.join('\n')}`);
    this.now = o.now ?? (() => performance.now());
    this.random = o.random ?? Math.random;
    this.log = o.log ?? rootLogger.child({ component: 'canary' });
    this.worseBy = o.worseBy ?? 1.5;
    this.metrics = CanaryMetrics.for(o.registry);
    const now = this.now();
    for (const c of configs) {
      const cfg = resolveCanary(c);
      const bounds = latencyBounds([cfg.p95Ms]);
      const windowMs = cfg.windowSeconds * 1000;
      const e: Entry = {
        cfg,
        stable: new LatencyWindow(bounds, cfg.p95Ms, windowMs, now),
        canary: new LatencyWindow(bounds, cfg.p95Ms, windowMs, now),
        counts: this.metrics.counts(cfg.name),
        rolledBack: false,
        decision: undefined,
      };
      this.byName.set(cfg.name, e);
      let m = this.byModel.get(cfg.stable);
      if (!m) this.byModel.set(cfg.stable, (m = {}));
      if (cfg.tenant === undefined) m.all = e;
      else (m.tenants ??= new Map()).set(cfg.tenant, e);
    }
    this.metrics.attach({ snapshot: () => this.snapshot() });
  }

  /** For a request from `tenant` resolved to model `modelId`: the model to use and whether it is the canary. O(1) per call. */
  route(tenant: string, modelId: string): CanaryRoute {
    const m = this.byModel.get(modelId);
    const e = m === undefined ? undefined : (m.tenants?.get(tenant) ?? m.all);
    if (e === undefined) return { model: modelId, variant: 'stable' };
    const name = e.cfg.name;
    if (e.rolledBack || e.cfg.percent <= 0 || this.random() * 100 >= e.cfg.percent) {
      return { model: modelId, variant: 'stable', canary: name };
    }
    if (this.sharedRolledBack(name)) {
      this.adopt(e);
      return { model: modelId, variant: 'stable', canary: name };
    }
    return { model: e.cfg.canary, variant: 'canary', canary: name };
  }

  /** Outcome of a call routed by `route` (latency of the whole call in ms; ok = 2xx and not cut off). */
  record(canaryName: string, variant: Variant, latencyMs: number, ok: boolean): void {
    // Unknown after a reload removed it: the call was routed by the previous configuration.
    const e = this.byName.get(canaryName);
    if (e === undefined) return;
    e.counts[countIndex(variant, ok)]!++;
    const now = this.now();
    if (variant === 'canary') {
      e.canary.add(now, latencyMs, ok);
      if (!e.rolledBack) {
        const reason = this.breach(e, now);
        if (reason !== undefined) this.rollBack(e, now, reason);
      }
    } else {
      e.stable.add(now, latencyMs, ok);
    }
  }

  /** While active: the window's current figures. After a rollback: the figures it was taken on. */
  state(name: string): CanaryDecision | undefined {
    const e = this.byName.get(name);
    if (e === undefined) return undefined;
    return e.decision ?? this.figures(e, this.now());
  }

  /** Puts a rolled-back canary back in service with an empty window (and clears the shared mark). */
  reset(name: string): void {
    const e = this.byName.get(name);
    if (e === undefined) return;
    const now = this.now();
    e.rolledBack = false;
    e.decision = undefined;
    e.stable.clear(now);
    e.canary.clear(now);
    try {
      this.o.sharedState?.clear?.(name);
    } catch (err) {
      this.log.warn({ err, canary: name }, 'canary shared state: clear failed');
    }
    this.log.info({ canary: name }, 'canary reset');
  }

  /** Why the canary must go, or undefined while it may stay. */
  private breach(e: Entry, now: number): string | undefined {
    const { minSamples, p95Ms, maxErrorRate } = e.cfg;
    const reasons: string[] = [];

    const cOk = e.canary.okCount(now);
    if (cOk >= minSamples && p95Above(e.canary, now, cOk)) {
      const cP95 = e.canary.quantile(now, P95)!;
      const sOk = e.stable.okCount(now);
      if (sOk >= minSamples && p95Above(e.stable, now, sOk)) {
        const sP95 = e.stable.quantile(now, P95)!;
        if (cP95 > sP95 * this.worseBy) {
          reasons.push(`p95 ${ms(cP95)} over the SLO of ${ms(p95Ms)} and over ${this.worseBy}x stable's ${ms(sP95)}`);
        }
      } else {
        reasons.push(`p95 ${ms(cP95)} over the SLO of ${ms(p95Ms)}`);
      }
    }

    const cTotal = e.canary.totalCount(now);
    const cRate = cTotal > 0 ? e.canary.errorCount(now) / cTotal : 0;
    if (cTotal >= minSamples && cRate > maxErrorRate) {
      const sTotal = e.stable.totalCount(now);
      const sRate = sTotal > 0 ? e.stable.errorCount(now) / sTotal : 0;
      if (sTotal >= minSamples && sRate > maxErrorRate) {
        if (cRate > sRate * this.worseBy) {
          reasons.push(`error rate ${pct(cRate)} over the SLO of ${pct(maxErrorRate)} and over ${this.worseBy}x stable's ${pct(sRate)}`);
        }
      } else {
        reasons.push(`error rate ${pct(cRate)} over the SLO of ${pct(maxErrorRate)}`);
      }
    }
    return reasons.length > 0 ? reasons.join('; ') : undefined;
  }

  private rollBack(e: Entry, now: number, reason: string): void {
    const d: CanaryDecision = { ...this.figures(e, now), rolledBack: true, reason };
    e.rolledBack = true;
    e.decision = d;
    this.metrics.rolledBack(e.cfg.name);
    this.log.warn({ ...d, stable: e.cfg.stable, canaryModel: e.cfg.canary, tenant: e.cfg.tenant ?? '*' }, 'canary rolled back');
    // Hooks are the embedding application's code: a throw must not fail the request that tipped the balance.
    try {
      this.o.onRollback?.(d);
    } catch (err) {
      this.log.warn({ err, canary: e.cfg.name }, 'canary onRollback hook failed');
    }
    try {
      this.o.sharedState?.markRolledBack(e.cfg.name, d);
    } catch (err) {
      this.log.warn({ err, canary: e.cfg.name }, 'canary shared state: markRolledBack failed');
    }
  }

  private sharedRolledBack(name: string): boolean {
    const shared = this.o.sharedState;
    if (shared === undefined) return false;
    try {
      return shared.isRolledBack(name);
    } catch {
      // An unreadable shared state must not take canaries down on its own; local judgement stands.
      return false;
    }
  }

  private adopt(e: Entry): void {
    if (e.rolledBack) return;
    e.rolledBack = true;
    e.decision = { ...this.figures(e, this.now()), rolledBack: true, reason: SHARED_REASON };
    this.log.info({ canary: e.cfg.name }, 'canary rollback adopted from shared state');
  }

  private figures(e: Entry, now: number): CanaryDecision {
    const d: CanaryDecision = { canary: e.cfg.name, rolledBack: e.rolledBack, samples: e.canary.totalCount(now) };
    const cP95 = e.canary.quantile(now, P95);
    if (cP95 !== undefined) d.canaryP95Ms = cP95;
    const cRate = errorRate(e.canary, now);
    if (cRate !== undefined) d.canaryErrorRate = cRate;
    const sP95 = e.stable.quantile(now, P95);
    if (sP95 !== undefined) d.stableP95Ms = sP95;
    const sRate = errorRate(e.stable, now);
    if (sRate !== undefined) d.stableErrorRate = sRate;
    return d;
  }

  private snapshot(): CanarySnapshot[] {
    const now = this.now();
    const out: CanarySnapshot[] = [];
    for (const e of this.byName.values()) {
      if (!e.rolledBack && this.sharedRolledBack(e.cfg.name)) this.adopt(e);
      out.push({
        name: e.cfg.name,
        active: !e.rolledBack,
        stable: { p95Ms: e.stable.quantile(now, P95), errorRate: errorRate(e.stable, now) },
        canary: { p95Ms: e.canary.quantile(now, P95), errorRate: errorRate(e.canary, now) },
      });
    }
    return out;
  }
}

/** Nearest-rank p95 above the window's threshold: more ok calls slower than it than 5 % allows. */
function p95Above(w: LatencyWindow, now: number, ok: number): boolean {
  return w.slowCount(now) > ok - nearestRank(ok, P95);
}

function errorRate(w: LatencyWindow, now: number): number | undefined {
  const total = w.totalCount(now);
  return total > 0 ? w.errorCount(now) / total : undefined;
}

function ms(v: number): string {
  return `${Math.round(v)} ms`;
}

function pct(v: number): string {
  return `${(v * 100).toFixed(1)} %`;
}

/** Checks for configs built in code (the YAML schema makes the same ones). */
function configProblems(configs: readonly CanaryConfig[]): string[] {
  const out: string[] = [];
  for (const c of configs) {
    const r = resolveCanary(c);
    const at = `canary "${c.name}"`;
    if (!(r.percent >= 0 && r.percent <= 100)) out.push(`${at}: percent must be within 0..100, got ${r.percent}`);
    if (r.stable === r.canary) out.push(`${at}: canary must differ from stable (both are "${r.stable}")`);
    if (!(r.p95Ms > 0)) out.push(`${at}: slo.p95Ms must be > 0, got ${r.p95Ms}`);
    if (!(r.maxErrorRate >= 0 && r.maxErrorRate <= 1)) out.push(`${at}: slo.maxErrorRate must be within 0..1, got ${r.maxErrorRate}`);
    if (!(r.windowSeconds > 0)) out.push(`${at}: windowSeconds must be > 0, got ${r.windowSeconds}`);
    if (!(r.minSamples >= 1)) out.push(`${at}: minSamples must be >= 1, got ${r.minSamples}`);
  }
  for (const p of canaryConflicts(configs)) out.push(`entry ${p.index + 1}: ${p.message}`);
  return out;
}
