/*
 * End to end: the response cache serves every caller API, whatever API the backend speaks, and
 * chained (fallback) calls, through real Envoy, the processor and real Redis, with each API's
 * official SDK. A repeated request is answered without a provider call, in the caller's own
 * shape, whole or streamed, with the same text, tool calls, finish reason and usage as the miss.
 */
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';
import { responseWords } from '../../simulators/openai/completion.js';
import { startRedis, type RedisServerHandle } from '../helpers/redis-server.js';
import { BACKENDS, CALL, CALLERS, FINISH, type Gateway, type Seen } from '../helpers/sdk-calls.js';

const KEY = 'gw-key-cache-every-api';
const WORDS = 6;

/** OpenRouter (429 on every call) → Groq → Gemini. */
const CHAIN = 'openrouter/meta-llama/llama-3.3-70b-instruct';

let redis: RedisServerHandle;
let admin: Redis;
let stack: LocalStack;
let gw: Gateway;

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis(redis.url);
  stack = await startLocalStack({
    env: { GATEWAY_KEYS: `every:${KEY}`, REDIS_URL: redis.url, CACHE_TTL_SECONDS: '300' },
    log: pino({ level: 'silent' }),
    ownSimulators: { openrouter: { failEvery: 1, failStatus: 429 } },
  });
  gw = { url: stack.gatewayUrl, key: KEY };
});

afterAll(async () => {
  await stack?.close(500);
  admin?.disconnect();
  await redis?.stop();
});

const allCalls = () => Object.values(stack.simulators).reduce((n, s) => n + s.requestCount(), 0);
const cacheEntries = async () => (await admin.keys('llmgw:cache:*')).length;

/** The store write happens after the last byte, without holding the response: wait until it lands. */
async function stored(entriesBefore: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while ((await cacheEntries()) <= entriesBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

function sameAnswer(hit: Seen, miss: Seen): void {
  expect(hit.text).toBe(miss.text);
  expect(hit.toolCalls).toEqual(miss.toolCalls);
  expect(hit.finish).toBe(miss.finish);
  expect(hit.inputTokens).toBe(miss.inputTokens);
  expect(hit.outputTokens).toBe(miss.outputTokens);
}

describe.each(CALLERS)('%s caller', (caller) => {
  describe.each(BACKENDS)('of a $api backend', (backend) => {
    it("a repeated request is a hit, whole and streamed, with the miss's answer and no provider call", async () => {
      const prompt = `every api ${caller} ${backend.api} ${Date.now()} [sim:tokens=${WORDS}]`;
      const entries = await cacheEntries();
      const miss = await CALL[caller](gw, backend.model, prompt, false, false);
      expect(miss.headers?.get('x-gateway-cache')).toBe('miss');
      expect(miss.text).toBe(responseWords(prompt, WORDS).join(' '));
      await stored(entries);
      const before = allCalls();
      const streamed = await CALL[caller](gw, backend.model, prompt, true, false);
      const whole = await CALL[caller](gw, backend.model, prompt, false, false);
      expect(allCalls()).toBe(before);
      for (const hit of [streamed, whole]) {
        expect(hit.headers?.get('x-gateway-cache')).toBe('hit');
        expect(hit.headers?.get('x-gateway-provider')).toBe(backend.provider);
        expect(hit.headers?.get('x-gateway-cost-usd')).toBe('0');
        sameAnswer(hit, miss);
      }
      expect(streamed.finish).toBe(FINISH[caller].stop);
    });

    it("a streamed tool call is stored as it passes and replayed as the caller's tool call", async () => {
      const prompt = `every api tool ${caller} ${backend.api} ${Date.now()} [sim:tool]`;
      const entries = await cacheEntries();
      const miss = await CALL[caller](gw, backend.model, prompt, true, true);
      expect(miss.toolCalls).toHaveLength(1);
      await stored(entries);
      const before = allCalls();
      const hit = await CALL[caller](gw, backend.model, prompt, false, true);
      expect(allCalls()).toBe(before);
      expect(hit.headers?.get('x-gateway-cache')).toBe('hit');
      sameAnswer(hit, miss);
      expect(hit.finish).toBe(FINISH[caller].tool);
    });
  });

  it('a chained call is cached under the model asked for and answered as the member that served it', async () => {
    const prompt = `every api chain ${caller} ${Date.now()} [sim:tokens=${WORDS}]`;
    const entries = await cacheEntries();
    const miss = await CALL[caller](gw, CHAIN, prompt, true, false);
    expect(miss.headers?.get('x-gateway-cache')).toBe('miss');
    expect(miss.headers?.get('x-gateway-provider')).not.toBe('openrouter');
    await stored(entries);
    const before = allCalls();
    const hit = await CALL[caller](gw, CHAIN, prompt, false, false);
    expect(allCalls()).toBe(before);
    expect(hit.headers?.get('x-gateway-cache')).toBe('hit');
    expect(hit.headers?.get('x-gateway-provider')).toBe(miss.headers?.get('x-gateway-provider'));
    expect(hit.headers?.get('x-gateway-model')).toBe(miss.headers?.get('x-gateway-model'));
    sameAnswer(hit, miss);
  });
});
