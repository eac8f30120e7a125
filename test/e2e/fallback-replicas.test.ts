/*
 * End to end: a fallback chain served by two processor replicas. Envoy spreads the router-level
 * stream and each attempt's upstream-level stream over both, so a call's two processing points
 * often run in different processes; every answer must still be right.
 */
import OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';
import { responseWords } from '../../simulators/openai/completion.js';
import { metricValue } from '../helpers/prom.js';

const KEY = 'gw-key-fallback-rep';
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({
    // No cooldown after a 500: every call walks the chain, so attempts land on both replicas.
    env: { GATEWAY_KEYS: `fbr:${KEY}`, CACHE_TTL_SECONDS: '0', COOLDOWN_SECONDS: '0' },
    log: pino({ level: 'silent' }),
    replicas: 2,
    // OpenRouter refuses, Groq answers. Envoy's outlier detection sets OpenRouter aside after three
    // 5xx in a row, after which calls start at Groq: one attempt or two, both through the chain.
    ownSimulators: { openrouter: { failEvery: 1, failStatus: 500 } },
  });
});

afterAll(async () => {
  await stack?.close(500);
});

describe('fallback across replicas', () => {
  it('answers every chained call correctly whichever replica handles each processing point', async () => {
    const client = new OpenAI({ apiKey: KEY, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
    for (let i = 0; i < 12; i++) {
      const prompt = `replica probe ${i} [sim:tokens=5]`;
      const stream = i % 2 === 1;
      if (stream) {
        let text = '';
        const s = await client.chat.completions
          .create({ model: 'openrouter/meta-llama/llama-3.3-70b-instruct', messages: [{ role: 'user', content: prompt }], stream: true })
          .withResponse();
        for await (const c of s.data) text += c.choices[0]?.delta.content ?? '';
        expect(text).toBe(responseWords(prompt, 5).join(' '));
        expect(s.response.headers.get('x-gateway-provider')).toBe('groq');
        expect(['1', '2']).toContain(s.response.headers.get('x-gateway-attempts'));
      } else {
        const r = await client.chat.completions
          .create({ model: 'openrouter/meta-llama/llama-3.3-70b-instruct', messages: [{ role: 'user', content: prompt }] })
          .withResponse();
        expect(r.data.choices[0]?.message.content).toBe(responseWords(prompt, 5).join(' '));
        expect(r.response.headers.get('x-gateway-provider')).toBe('groq');
        expect(['1', '2']).toContain(r.response.headers.get('x-gateway-attempts'));
      }
    }
    // Both replicas translated attempts, and both served calls at the router level.
    for (const g of stack.gateways) {
      const text = await (await fetch(`http://127.0.0.1:${g.metricsPort}/metrics`)).text();
      expect(metricValue(text, 'llm_gateway_upstream_attempts_total', { gen_ai_provider_name: 'groq', status_code: '200' })).toBeGreaterThan(0);
      expect(metricValue(text, 'gen_ai_client_token_usage_count', { tenant: 'fbr' })).toBeGreaterThan(0);
    }
  });
});
