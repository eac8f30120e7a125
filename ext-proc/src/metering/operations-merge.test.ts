/**
 * With several processor workers the primary serves their registries merged: each gauge the
 * dashboards read declares how (open streams add up, limits left take the tightest, budgets and
 * cooldowns the highest, provider quota shares add up unless Redis already added them).
 */
import { AggregatorRegistry, type Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Cooldowns, registerCooldownMetrics } from '../fallback/cooldown.js';
import { ProviderQuotas, registerProviderQuotaMetrics } from '../route/provider-quota.js';
import { registerPhaseMetrics } from '../server/phase-metrics.js';
import { createMetrics } from './metrics.js';

const member = { id: 'gpt-4o-mini', provider: { id: 'openai' } };

/** One worker's registry with the operations metrics in the given state. */
function worker(o: { streams: number; rpmLeft: number; spent: number; cooling: boolean; quotaRequests: number }): Registry {
  const m = createMetrics();
  registerPhaseMetrics(m.registry, () => o.streams);
  m.limitStanding.seen('acme', [
    {
      scope: 'tenant',
      id: 'acme',
      remaining: { rpm: o.rpmLeft, usd_per_day: 10 - o.spent },
      limits: { rpm: 100, usd_per_day: 10 },
      spentUsd: { day: o.spent },
    },
  ]);
  const cooldowns = new Cooldowns();
  if (o.cooling) cooldowns.refuse(member.id, '60');
  registerCooldownMetrics(m.registry, () => ({ cooldowns, members: [member] }));
  const quotas = new ProviderQuotas(new Map([['groq', { requestsPerMinute: 10 }]]));
  for (let i = 0; i < o.quotaRequests; i++) quotas.recordRequest('groq');
  registerProviderQuotaMetrics(m.registry, quotas);
  return m.registry;
}

const line = (text: string, prefix: string) => {
  const l = text.split('\n').find((x) => x.startsWith(prefix));
  return l === undefined ? undefined : Number(l.slice(l.lastIndexOf(' ') + 1));
};

describe('operations gauges merged across workers', () => {
  it('add, take the tightest or the highest, as each means', async () => {
    const a = worker({ streams: 3, rpmLeft: 40, spent: 2, cooling: false, quotaRequests: 2 });
    const b = worker({ streams: 5, rpmLeft: 25, spent: 3, cooling: true, quotaRequests: 3 });
    const merged = await AggregatorRegistry.aggregate([await a.getMetricsAsJSON(), await b.getMetricsAsJSON()]).metrics();
    expect(line(merged, 'llm_gateway_ext_proc_streams_in_flight ')).toBe(8);
    expect(line(merged, 'llm_gateway_limit_remaining{tenant="acme",limit="rpm"}')).toBe(25);
    expect(line(merged, 'llm_gateway_budget_spent_usd{tenant="acme",period="day"}')).toBe(3);
    expect(line(merged, 'llm_gateway_budget_limit_usd{tenant="acme",period="day"}')).toBe(10);
    expect(line(merged, 'llm_gateway_provider_cooling_down{gen_ai_provider_name="openai",gen_ai_request_model="gpt-4o-mini"}')).toBe(1);
    // Without Redis each worker counts its own calls: the shares add up.
    expect(line(merged, 'llm_gateway_provider_quota_used_ratio{gen_ai_provider_name="groq",window="minute"}')).toBeCloseTo(0.5, 10);
  });
});
