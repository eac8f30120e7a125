/*
 * End to end: fallback chains under load. Many calls at once whose first member refuses (429)
 * all fall back (Envoy allows only 3 retries in flight per cluster unless told otherwise), and
 * large prompts down a chain, one at a time or many at once, are served without bringing Envoy
 * down (its HTTP/2 client to the processor crashed once an attempt's body filled the default
 * 1 MiB connection buffer).
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';

const KEY = 'gw-key-fallback-load-1';
/** OpenRouter (429 on every call) → Groq → Gemini. */
const CHAIN = 'openrouter/meta-llama/llama-3.3-70b-instruct';
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({
    env: { GATEWAY_KEYS: `load:${KEY}`, CACHE_TTL_SECONDS: '0', MAX_REQUEST_BYTES: String(4 * 1024 * 1024) },
    log: pino({ level: 'silent' }),
    ownSimulators: { openrouter: { failEvery: 1, failStatus: 429 } },
  });
});

afterAll(async () => {
  await stack?.close(500);
});

async function chainCall(content: string): Promise<{ status: number; attempts: string | null; provider: string | null } | string> {
  try {
    const r = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: CHAIN, messages: [{ role: 'user', content }] }),
    });
    await r.text();
    return { status: r.status, attempts: r.headers.get('x-gateway-attempts'), provider: r.headers.get('x-gateway-provider') };
  } catch (e) {
    return `connection failed: ${(e as { cause?: { code?: string } }).cause?.code ?? String(e)}`;
  }
}

const envoyAlive = () => stack.envoy.child.exitCode === null && stack.envoy.child.signalCode === null;

describe('fallback chains under load', () => {
  it('32 calls at once whose first member refuses all fall back to the next', async () => {
    const outcomes = await Promise.all(Array.from({ length: 32 }, (_, i) => chainCall(`fallback load ${i}`)));
    for (const o of outcomes) {
      expect(o).toMatchObject({ status: 200 });
      if (typeof o === 'string') continue;
      expect(Number(o.attempts)).toBeGreaterThanOrEqual(2);
      expect(o.provider).not.toBe('openrouter');
    }
  });

  it('a 1 MiB prompt down a chain is served, alone and 16 at once, and Envoy stays up', async () => {
    const big = 'x'.repeat(1024 * 1024);
    expect(await chainCall(big)).toMatchObject({ status: 200 });
    const outcomes = await Promise.all(Array.from({ length: 16 }, () => chainCall(big)));
    expect(outcomes.filter((o) => typeof o === 'string' || o.status !== 200)).toEqual([]);
    expect(envoyAlive()).toBe(true);
  });
});
