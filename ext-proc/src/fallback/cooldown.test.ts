import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Cooldowns, parseRetryAfter, registerCooldownMetrics } from './cooldown.js';

describe('Cooldowns', () => {
  it('cools a backend for its retry-after, then lets it back', () => {
    const c = new Cooldowns();
    expect(c.refuse('a', '2', 1_000)).toBe(2);
    expect(c.cooling('a', 2_999)).toBe(true);
    expect(c.cooling('a', 3_000)).toBe(false);
    expect(c.cooling('b', 1_000)).toBe(false);
  });

  it('uses the default without retry-after, caps long waits, and never shortens a cooldown', () => {
    const c = new Cooldowns({ defaultSeconds: 5, maxSeconds: 60 });
    expect(c.refuse('a', undefined, 0)).toBe(5);
    expect(c.refuse('a', '3600', 0)).toBe(60);
    c.refuse('a', '1', 0);
    expect(c.cooling('a', 59_000)).toBe(true);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('7')).toBe(7);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('llm_gateway_provider_cooling_down', () => {
  it('shows 1 for a member while it cools down and 0 for the others, then 0 again', async () => {
    const registry = new Registry();
    const cooldowns = new Cooldowns({ defaultSeconds: 1, maxSeconds: 60 });
    const members = [
      { id: 'gpt-4o-mini', provider: { id: 'openai' } },
      { id: 'llama-3.1-8b-instant', provider: { id: 'groq' } },
    ];
    registerCooldownMetrics(registry, () => ({ cooldowns, members }));
    const value = async (model: string) => {
      const text = await registry.metrics();
      const line = text.split('\n').find((l) => l.startsWith('llm_gateway_provider_cooling_down{') && l.includes(`gen_ai_request_model="${model}"`));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    expect(await value('llama-3.1-8b-instant')).toBe(0);
    cooldowns.refuse('llama-3.1-8b-instant', '0.2');
    expect(await value('llama-3.1-8b-instant')).toBe(1);
    expect(await value('gpt-4o-mini')).toBe(0);
    await new Promise((r) => setTimeout(r, 250));
    expect(await value('llama-3.1-8b-instant')).toBe(0);
  });
});
