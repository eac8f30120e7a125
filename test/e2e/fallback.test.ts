/*
 * End to end: cross-provider fallback through real Envoy. Envoy retries down a chain cluster
 * (one priority per member); the upstream ext_proc filter translates each attempt for the member
 * Envoy picked. Members are made to fail with their own simulators: OpenRouter always answers
 * 429, Groq always 500, local Ollama never answers, Anthropic is overloaded (529).
 */
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';
import { responseWords } from '../../simulators/openai/completion.js';
import { metricValue } from '../helpers/prom.js';

const KEY = 'gw-key-fallback-01';
/** OpenRouter (429) → Groq (500) → Gemini. */
const LLAMA_CHAIN = 'openrouter/meta-llama/llama-3.3-70b-instruct';
/** Local Ollama (hangs) → DeepSeek. */
const LOCAL_CHAIN = 'ollama/llama3.2';
/** Anthropic (529) → OpenRouter (429): nobody answers. */
const CLAUDE_CHAIN = 'claude-sonnet-4-5';
const ATTEMPT_IDLE_MS = 1000;

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({
    env: { GATEWAY_KEYS: `fb:${KEY}`, CACHE_TTL_SECONDS: '0' },
    log: pino({ level: 'silent' }),
    ownSimulators: {
      openrouter: { failEvery: 1, failStatus: 429 },
      groq: { failEvery: 1, failStatus: 500 },
      ollama: { latencyMs: 60_000 },
      anthropic: { failEvery: 1, failStatus: 529 },
    },
    attemptIdleTimeoutMs: ATTEMPT_IDLE_MS,
  });
});

afterAll(async () => {
  await stack?.close(500);
});

const openai = () => new OpenAI({ apiKey: KEY, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
const count = (provider: string) => stack.simulators[provider]!.requestCount();

describe('fallback chains', () => {
  it("moves past a 429 and a 500 to a backend of another API, and answers in the caller's format", async () => {
    const before = { openrouter: count('openrouter'), groq: count('groq'), gemini: count('gemini') };
    const prompt = 'fallback probe one [sim:tokens=6]';
    const { data, response } = await openai()
      .chat.completions.create({ model: LLAMA_CHAIN, messages: [{ role: 'user', content: prompt }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe(responseWords(prompt, 6).join(' '));
    expect(data.usage?.completion_tokens).toBe(6);
    expect(response.headers.get('x-gateway-provider')).toBe('gemini');
    expect(response.headers.get('x-gateway-model')).toBe('gemini-2.5-flash-lite');
    expect(response.headers.get('x-gateway-attempts')).toBe('3');
    expect(count('openrouter')).toBe(before.openrouter + 1);
    expect(count('groq')).toBe(before.groq + 1);
    expect(count('gemini')).toBe(before.gemini + 1);
    // Each attempt was translated for its member: Gemini got a generateContent body.
    const upstream = stack.simulators.gemini!.requests.at(-1)!;
    expect(upstream.path).toContain(':generateContent');
    expect((upstream.body as { contents?: unknown[] }).contents).toHaveLength(1);
  });

  it('starts past members that are cooling down after their refusals', async () => {
    const before = { openrouter: count('openrouter'), groq: count('groq') };
    const prompt = 'fallback probe two [sim:tokens=5]';
    const stream = await openai()
      .chat.completions.create({ model: LLAMA_CHAIN, messages: [{ role: 'user', content: prompt }], stream: true })
      .withResponse();
    let text = '';
    for await (const chunk of stream.data) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(responseWords(prompt, 5).join(' '));
    expect(stream.response.headers.get('x-gateway-provider')).toBe('gemini');
    // Only Gemini is left, so the call went straight to it.
    expect(stream.response.headers.get('x-gateway-attempts')).toBe('1');
    expect(count('openrouter')).toBe(before.openrouter);
    expect(count('groq')).toBe(before.groq);
  });

  it('abandons a member that goes silent and streams the next one to an Ollama caller', async () => {
    const client = new Ollama({ host: stack.gatewayUrl, headers: { authorization: `Bearer ${KEY}` } });
    const prompt = 'local first [sim:tokens=4]';
    const started = Date.now();
    let text = '';
    let done: { eval_count?: number; done_reason?: string } | undefined;
    for await (const part of await client.chat({ model: LOCAL_CHAIN, messages: [{ role: 'user', content: prompt }], stream: true })) {
      text += part.message.content;
      if (part.done) done = part;
    }
    expect(text).toBe(responseWords(prompt, 4).join(' '));
    expect(done?.eval_count).toBe(4);
    expect(done?.done_reason).toBe('stop');
    expect(Date.now() - started).toBeGreaterThanOrEqual(ATTEMPT_IDLE_MS - 50);
    expect(stack.simulators.deepseek!.requests.at(-1)!.path).toBe('/v1/chat/completions');
  });

  it('when every member refuses, the caller gets the last refusal in its own format', async () => {
    const client = new Anthropic({ apiKey: KEY, baseURL: stack.gatewayUrl, maxRetries: 0 });
    const err = await client.messages.create({ model: CLAUDE_CHAIN, max_tokens: 64, messages: [{ role: 'user', content: 'anyone?' }] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Anthropic.APIError);
    const apiErr = err as InstanceType<typeof Anthropic.APIError>;
    // Anthropic's 529 moved the call on; OpenRouter's 429 (its 1 s cooldown from the first test is
    // over) was the last word, with its retry-after.
    expect(apiErr.status).toBe(429);
    expect(apiErr.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(apiErr.headers?.get('retry-after')).toBe('1');
    expect(apiErr.headers?.get('x-gateway-attempts')).toBe('2');
    expect(apiErr.headers?.get('x-gateway-provider')).toBe('openrouter');
    expect(apiErr.headers?.get('x-gateway-request-id')).toBeTruthy();
  });

  it('counts every attempt by member and status', async () => {
    const text = await (await fetch(stack.metricsUrl)).text();
    expect(metricValue(text, 'llm_gateway_upstream_attempts_total', { gen_ai_provider_name: 'openrouter', status_code: '429' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'llm_gateway_upstream_attempts_total', { gen_ai_provider_name: 'groq', status_code: '500' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'llm_gateway_upstream_attempts_total', { gen_ai_provider_name: 'anthropic', status_code: '529' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'llm_gateway_upstream_attempts_total', { gen_ai_provider_name: 'gemini', status_code: '200' })).toBeGreaterThanOrEqual(1);
  });
});
