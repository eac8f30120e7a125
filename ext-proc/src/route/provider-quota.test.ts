import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ProviderQuotas, registerProviderQuotaMetrics } from './provider-quota.js';

describe('ProviderQuotas (in process)', () => {
  it('steers away at 90 % of requests per minute, and forgets the minute when it is over', () => {
    let now = 60_000 * 100;
    const q = new ProviderQuotas(new Map([['groq', { requestsPerMinute: 10 }]]), { now: () => now });
    for (let i = 0; i < 8; i++) q.recordRequest('groq');
    expect(q.nearLimit('groq')).toBe(false);
    q.recordRequest('groq');
    expect(q.nearLimit('groq')).toBe(true);
    now += 60_000;
    expect(q.nearLimit('groq')).toBe(false);
  });

  it('steers away at 90 % of tokens per day', () => {
    const q = new ProviderQuotas(new Map([['openrouter', { tokensPerDay: 1000 }]]), { now: () => 0 });
    q.recordTokens('openrouter', 899);
    expect(q.nearLimit('openrouter')).toBe(false);
    q.recordTokens('openrouter', 1);
    expect(q.nearLimit('openrouter')).toBe(true);
  });

  it('providers without a quota are never near a limit', () => {
    const q = new ProviderQuotas(new Map());
    q.recordRequest('openai');
    expect(q.nearLimit('openai')).toBe(false);
  });
});

describe('llm_gateway_provider_quota_used_ratio', () => {
  const ratio = async (registry: Registry, provider: string, window: string) => {
    const m = (await registry.getSingleMetric('llm_gateway_provider_quota_used_ratio')!.get()).values;
    return m.find((v) => v.labels.gen_ai_provider_name === provider && v.labels.window === window)?.value;
  };

  it('shows the share of each configured window used, capped at 1, and rolls over with the window', async () => {
    let now = 60_000 * 100;
    const q = new ProviderQuotas(
      new Map([
        ['groq', { requestsPerMinute: 4 }],
        ['openrouter', { tokensPerDay: 1000 }],
      ]),
      { now: () => now },
    );
    const registry = new Registry();
    registerProviderQuotaMetrics(registry, q);
    expect(await ratio(registry, 'groq', 'minute')).toBe(0);
    expect(await ratio(registry, 'groq', 'day')).toBeUndefined();
    q.recordRequest('groq');
    q.recordTokens('openrouter', 250);
    expect(await ratio(registry, 'groq', 'minute')).toBe(0.25);
    expect(await ratio(registry, 'openrouter', 'day')).toBe(0.25);
    for (let i = 0; i < 5; i++) q.recordRequest('groq');
    expect(await ratio(registry, 'groq', 'minute')).toBe(1);
    now += 60_000;
    expect(await ratio(registry, 'groq', 'minute')).toBe(0);
  });

  it('follows the quotas given last for the same registry', async () => {
    const registry = new Registry();
    registerProviderQuotaMetrics(registry, new ProviderQuotas(new Map([['groq', { requestsPerMinute: 10 }]])));
    const next = new ProviderQuotas(new Map([['deepseek', { requestsPerMinute: 2 }]]));
    registerProviderQuotaMetrics(registry, next);
    next.recordRequest('deepseek');
    expect(await ratio(registry, 'deepseek', 'minute')).toBe(0.5);
    expect(await ratio(registry, 'groq', 'minute')).toBeUndefined();
  });
});
