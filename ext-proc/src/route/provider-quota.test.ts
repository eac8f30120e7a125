import { describe, expect, it } from 'vitest';
import { ProviderQuotas } from './provider-quota.js';

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
