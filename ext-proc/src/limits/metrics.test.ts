import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMemoryLimiter } from './memory.js';
import { LimitStanding } from './metrics.js';
import type { LimitSubject } from './types.js';

const T0 = Date.UTC(2025, 2, 15, 12, 0, 0);
const MIN = 60_000;

async function values(registry: Registry, name: string): Promise<Record<string, number>> {
  const m = registry.getSingleMetric(name);
  if (!m) throw new Error(`${name} not registered`);
  const out: Record<string, number> = {};
  for (const v of (await m.get()).values) out[Object.values(v.labels).join('/')] = v.value;
  return out;
}

describe('LimitStanding', () => {
  const subjects: LimitSubject[] = [
    { scope: 'tenant', id: 'acme', policy: { rpm: 3, tpm: 1000, usdPerDay: 2, usdPerMonth: 10 } },
    { scope: 'key', id: 'key-1', policy: { rpm: 1 } },
  ];

  it("shows the tenant's spend, budgets and remaining limits as its admissions see them, not its key's", async () => {
    let now = T0 + 5_000;
    const registry = new Registry();
    const standing = new LimitStanding(registry, () => now);
    const limiter = createMemoryLimiter();
    expect(await values(registry, 'llm_gateway_limit_remaining')).toEqual({});

    const first = await limiter.admit(subjects, { tokens: 100, usd: 0.5 }, now);
    standing.seen('acme', first.standing, now);
    expect(await values(registry, 'llm_gateway_budget_spent_usd')).toEqual({ 'acme/day': 0.5, 'acme/month': 0.5 });
    expect(await values(registry, 'llm_gateway_budget_limit_usd')).toEqual({ 'acme/day': 2, 'acme/month': 10 });
    expect(await values(registry, 'llm_gateway_limit_remaining')).toEqual({
      'acme/rpm': 2,
      'acme/tpm': 900,
      'acme/usd_per_day': 1.5,
      'acme/usd_per_month': 9.5,
    });

    // The key's own rpm of 1 refuses the next call; the tenant's figures are still what is shown.
    const second = await limiter.admit(subjects, { tokens: 100, usd: 0.5 }, now);
    expect(second.ok).toBe(false);
    standing.seen('acme', second.standing, now);
    expect((await values(registry, 'llm_gateway_limit_remaining'))['acme/rpm']).toBe(2);

    // Two minutes on, the minute windows are whole again; the day's spend still counts.
    now += 2 * MIN;
    expect(await values(registry, 'llm_gateway_limit_remaining')).toMatchObject({ 'acme/rpm': 3, 'acme/tpm': 1000, 'acme/usd_per_day': 1.5 });
    // The next UTC day: nothing spent yet, the whole daily budget left; the month goes on.
    now = Date.UTC(2025, 2, 16, 0, 0, 1);
    expect(await values(registry, 'llm_gateway_budget_spent_usd')).toEqual({ 'acme/day': 0, 'acme/month': 0.5 });
    expect((await values(registry, 'llm_gateway_limit_remaining'))['acme/usd_per_day']).toBe(2);
  });

  it('shows nothing for a tenant without limits of its own', async () => {
    const registry = new Registry();
    const standing = new LimitStanding(registry);
    const limiter = createMemoryLimiter();
    const a = await limiter.admit([{ scope: 'key', id: 'key-2', policy: { rpm: 5 } }], { tokens: 1, usd: 0 });
    standing.seen('solo', a.standing);
    expect(await values(registry, 'llm_gateway_limit_remaining')).toEqual({});
    expect(await values(registry, 'llm_gateway_budget_limit_usd')).toEqual({});
  });
});
