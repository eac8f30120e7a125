/*
 * End to end: the exact response cache through real Envoy, the processor and real Redis, with
 * the official `openai` SDK as the caller.
 */
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, SIMULATOR_PROVIDER_KEY, type LocalStack } from '../../scripts/lib/local-stack.js';
import { planCompletion } from '../../simulators/openai/completion.js';
import { metricValue } from '../helpers/prom.js';
import { startRedis, type RedisServerHandle } from '../helpers/redis-server.js';

const KEY_A = 'gw-key-cache-tenant-a';
const KEY_B = 'gw-key-cache-tenant-b';

let redis: RedisServerHandle;
let stack: LocalStack;
let a: OpenAI;
let b: OpenAI;

beforeAll(async () => {
  redis = await startRedis();
  stack = await startLocalStack({
    env: { GATEWAY_KEYS: `ta:${KEY_A},tb:${KEY_B}`, REDIS_URL: redis.url, CACHE_TTL_SECONDS: '300' },
    log: pino({ level: 'silent' }),
  });
  a = new OpenAI({ apiKey: KEY_A, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
  b = new OpenAI({ apiKey: KEY_B, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await stack?.close(500);
  await redis?.stop();
});

let n = 0;
/** A request nobody has sent before in this suite. */
const fresh = () => [{ role: 'user' as const, content: `cache probe ${++n} ${Date.now()}` }];
const calls = () => stack.simulator!.requestCount();

async function streamText(client: OpenAI, messages: OpenAI.ChatCompletionMessageParam[], includeUsage = false) {
  const { data, response } = await client.chat.completions
    .create({ model: 'gpt-4o-mini', messages, stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) })
    .withResponse();
  let text = '';
  let usage: OpenAI.CompletionUsage | null | undefined;
  let finish: string | null | undefined;
  for await (const c of data) {
    text += c.choices[0]?.delta.content ?? '';
    if (c.choices[0]?.finish_reason) finish = c.choices[0].finish_reason;
    if (c.usage) usage = c.usage;
  }
  return { text, usage, finish, headers: response.headers };
}

describe('response cache', () => {
  it('answers a repeated request from the cache without calling the provider', async () => {
    const messages = fresh();
    const first = await a.chat.completions.create({ model: 'gpt-4o-mini', messages }).withResponse();
    expect(first.response.headers.get('x-gateway-cache')).toBe('miss');
    const before = calls();
    const second = await a.chat.completions.create({ model: 'gpt-4o-mini', messages }).withResponse();
    expect(calls()).toBe(before);
    expect(second.response.headers.get('x-gateway-cache')).toBe('hit');
    expect(second.response.headers.get('x-gateway-cost-usd')).toBe('0');
    expect(second.response.headers.get('x-gateway-model')).toBe('gpt-4o-mini');
    expect(second.data.choices[0]?.message.content).toBe(first.data.choices[0]?.message.content);
    expect(second.data.usage).toEqual(first.data.usage);
    expect(second.data.id).not.toBe(first.data.id);
  });

  it('replays a cached answer as a well-formed stream to a streaming caller', async () => {
    const messages = fresh();
    const first = await a.chat.completions.create({ model: 'gpt-4o-mini', messages });
    const before = calls();
    const replay = await streamText(a, messages, true);
    expect(calls()).toBe(before);
    expect(replay.headers.get('x-gateway-cache')).toBe('hit');
    expect(replay.headers.get('content-type')).toContain('text/event-stream');
    expect(replay.text).toBe(first.choices[0]?.message.content);
    expect(replay.finish).toBe('stop');
    expect(replay.usage).toEqual(first.usage);
  });

  it('stores a streamed answer as it passes, for stream and non-stream callers alike', async () => {
    const messages = fresh();
    const streamed = await streamText(a, messages);
    expect(streamed.headers.get('x-gateway-cache')).toBe('miss');
    expect(streamed.text).toBe(planCompletion({ messages }).content);
    // The store write happens after the last chunk; give it a moment.
    await new Promise((r) => setTimeout(r, 100));
    const before = calls();
    const again = await a.chat.completions.create({ model: 'gpt-4o-mini', messages }).withResponse();
    expect(calls()).toBe(before);
    expect(again.response.headers.get('x-gateway-cache')).toBe('hit');
    expect(again.data.choices[0]?.message.content).toBe(streamed.text);
  });

  it('ignores key order and whitespace, but not the tenant', async () => {
    const messages = fresh();
    await a.chat.completions.create({ model: 'gpt-4o-mini', messages, temperature: 0 });
    const reordered = `{ "temperature" : 0,\n  "messages": ${JSON.stringify(messages)},   "model":"gpt-4o-mini" }`;
    const before = calls();
    const r = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY_A}`, 'content-type': 'application/json' },
      body: reordered,
    });
    expect(r.headers.get('x-gateway-cache')).toBe('hit');
    expect(calls()).toBe(before);
    const other = await b.chat.completions.create({ model: 'gpt-4o-mini', messages, temperature: 0 }).withResponse();
    expect(other.response.headers.get('x-gateway-cache')).toBe('miss');
    expect(calls()).toBe(before + 1);
  });

  it('a different parameter is a different answer', async () => {
    const messages = fresh();
    await a.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 50 });
    const r = await a.chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 5 }).withResponse();
    expect(r.response.headers.get('x-gateway-cache')).toBe('miss');
    expect(r.data.choices[0]?.finish_reason).toBe('length');
  });

  it('honours cache-control: no-store (neither read nor write) and no-cache (refresh)', async () => {
    const messages = fresh();
    const noStore = await a.chat.completions.create({ model: 'gpt-4o-mini', messages }, { headers: { 'cache-control': 'no-store' } }).withResponse();
    expect(noStore.response.headers.get('x-gateway-cache')).toBe('bypass');
    const after = await a.chat.completions.create({ model: 'gpt-4o-mini', messages }).withResponse();
    expect(after.response.headers.get('x-gateway-cache')).toBe('miss');
    const before = calls();
    const refresh = await a.chat.completions.create({ model: 'gpt-4o-mini', messages }, { headers: { 'cache-control': 'no-cache' } }).withResponse();
    expect(refresh.response.headers.get('x-gateway-cache')).toBe('bypass');
    expect(calls()).toBe(before + 1);
    const hit = await a.chat.completions.create({ model: 'gpt-4o-mini', messages }).withResponse();
    expect(hit.response.headers.get('x-gateway-cache')).toBe('hit');
  });

  it('counts hits and the USD they saved', async () => {
    const text = await (await fetch(stack.metricsUrl)).text();
    expect(metricValue(text, 'llm_gateway_cache_lookups_total', { tenant: 'ta', result: 'hit' })).toBeGreaterThanOrEqual(4);
    expect(metricValue(text, 'llm_gateway_cache_saved_usd_total', { tenant: 'ta' })).toBeGreaterThan(0);
    expect(metricValue(text, 'llm_gateway_cache_writes_total', { tenant: 'ta', result: 'stored' })).toBeGreaterThanOrEqual(5);
  });

  it('keeps no key of any kind in Redis', async () => {
    const client = new Redis(redis.url);
    try {
      const keys = await client.keys('*');
      expect(keys.length).toBeGreaterThan(0);
      for (const k of keys) {
        const v = (await client.getBuffer(k))?.toString('utf8') ?? '';
        for (const secret of [KEY_A, KEY_B, SIMULATOR_PROVIDER_KEY]) {
          expect(k).not.toContain(secret);
          expect(v).not.toContain(secret);
        }
      }
    } finally {
      client.disconnect();
    }
  });

  it('starts without Redis, serves calls, and uses Redis once it appears', async () => {
    const late = await startRedis();
    await late.stop();
    const s2 = await startLocalStack({
      env: { GATEWAY_KEYS: `ta:${KEY_A}`, REDIS_URL: late.url, CACHE_TTL_SECONDS: '300' },
      log: pino({ level: 'silent' }),
    });
    try {
      const c = new OpenAI({ apiKey: KEY_A, baseURL: `${s2.gatewayUrl}/v1`, maxRetries: 0 });
      const m = fresh();
      const r = await c.chat.completions.create({ model: 'gpt-4o-mini', messages: m }).withResponse();
      expect(r.data.choices[0]?.message.content).toBeTruthy();
      expect(r.response.headers.get('x-gateway-cache')).toBe('bypass');
      await late.restart();
      let status: string | null = null;
      for (let i = 0; i < 50 && status !== 'hit'; i++) {
        await new Promise((res) => setTimeout(res, 100));
        status = (await c.chat.completions.create({ model: 'gpt-4o-mini', messages: m }).withResponse()).response.headers.get('x-gateway-cache');
      }
      expect(status).toBe('hit');
    } finally {
      await s2.close(200);
      await late.stop();
    }
  });

  it('serves every request while Redis is down, and caches again once it is back', async () => {
    const messages = fresh();
    await redis.stop();
    // The store notices within its command timeout; every call is still answered.
    for (let i = 0; i < 3; i++) {
      const r = await a.chat.completions.create({ model: 'gpt-4o-mini', messages }).withResponse();
      expect(r.data.choices[0]?.message.content).toBeTruthy();
      expect(['miss', 'bypass']).toContain(r.response.headers.get('x-gateway-cache'));
    }
    await redis.restart();
    let status: string | null = null;
    for (let i = 0; i < 50 && status !== 'hit'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const r = await a.chat.completions.create({ model: 'gpt-4o-mini', messages }).withResponse();
      status = r.response.headers.get('x-gateway-cache');
    }
    expect(status).toBe('hit');
  });
});
