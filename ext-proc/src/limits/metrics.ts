import { Gauge, type Registry } from 'prom-client';
import type { LimitName, SubjectStanding } from './types.js';
import { DAY_MS, minuteIndex } from './windows.js';

interface Seen {
  atMs: number;
  standing: SubjectStanding;
}

const LIMITS: readonly LimitName[] = ['rpm', 'tpm', 'usd_per_day', 'usd_per_month'];

/**
 * Each tenant's own limits as its last admission saw them, shown as gauges at scrape time: the
 * request path only stores the admission's figures (tenants with limits come from configuration,
 * so the map stays small). A figure whose window has ended since is shown as the new window
 * starts (spend 0, the whole limit left) rather than repeated.
 */
export class LimitStanding {
  private readonly tenants = new Map<string, Seen>();

  constructor(
    registry: Registry,
    private readonly now: () => number = Date.now,
  ) {
    const each = (fn: (tenant: string, s: SubjectStanding, fresh: (name: LimitName) => boolean) => void) => {
      const now = this.now();
      for (const [tenant, seen] of this.tenants) fn(tenant, seen.standing, (name) => sameWindow(name, seen.atMs, now));
    };
    // Several workers share one limiter (Redis, or the primary's): each shows the same counters,
    // seen at different moments.
    new Gauge({
      name: 'llm_gateway_budget_spent_usd',
      help: "Tenant's spend in the current UTC day / month as the limiter counts it (reservations of calls in flight included), at its last admission.",
      labelNames: ['tenant', 'period'],
      aggregator: 'max',
      registers: [registry],
      collect() {
        this.reset();
        each((tenant, s, fresh) => {
          if (s.spentUsd.day !== undefined) this.set({ tenant, period: 'day' }, fresh('usd_per_day') ? s.spentUsd.day : 0);
          if (s.spentUsd.month !== undefined) this.set({ tenant, period: 'month' }, fresh('usd_per_month') ? s.spentUsd.month : 0);
        });
      },
    });
    new Gauge({
      name: 'llm_gateway_budget_limit_usd',
      help: "Tenant's configured USD budget per UTC day / month (absent when it has none).",
      labelNames: ['tenant', 'period'],
      aggregator: 'max',
      registers: [registry],
      collect() {
        this.reset();
        each((tenant, s) => {
          if (s.limits.usd_per_day !== undefined) this.set({ tenant, period: 'day' }, s.limits.usd_per_day);
          if (s.limits.usd_per_month !== undefined) this.set({ tenant, period: 'month' }, s.limits.usd_per_month);
        });
      },
    });
    new Gauge({
      name: 'llm_gateway_limit_remaining',
      help: "What remains of the tenant's limit in the current window (requests, tokens, USD), at its last admission.",
      labelNames: ['tenant', 'limit'],
      aggregator: 'min',
      registers: [registry],
      collect() {
        this.reset();
        each((tenant, s, fresh) => {
          for (const limit of LIMITS) {
            const left = s.remaining[limit];
            if (left !== undefined) this.set({ tenant, limit }, fresh(limit) ? left : s.limits[limit]!);
          }
        });
      },
    });
  }

  /** Keeps the tenant's own figures from an admission (the key's are not shown). */
  seen(tenant: string, standing: readonly SubjectStanding[], atMs = this.now()): void {
    const own = standing.find((s) => s.scope === 'tenant' && s.id === tenant);
    if (own) this.tenants.set(tenant, { atMs, standing: own });
  }
}

/** Whether a figure seen at `atMs` still belongs to the window in force at `nowMs`. */
function sameWindow(limit: LimitName, atMs: number, nowMs: number): boolean {
  switch (limit) {
    case 'rpm':
    case 'tpm':
      // The sliding minute still counts the previous minute's window.
      return minuteIndex(nowMs) - minuteIndex(atMs) < 2;
    case 'usd_per_day':
      return Math.floor(nowMs / DAY_MS) === Math.floor(atMs / DAY_MS);
    case 'usd_per_month': {
      const a = new Date(atMs);
      const b = new Date(nowMs);
      return a.getUTCFullYear() === b.getUTCFullYear() && a.getUTCMonth() === b.getUTCMonth();
    }
  }
}
