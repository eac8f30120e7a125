/*
 * End to end: every error reaches the caller in its own API's shape, named for what it is, even
 * when Envoy answers (a path no route takes) or the processor cannot tell the endpoint (a method
 * of the API the gateway does not offer). The API is told by the path: /v1/messages… is
 * Anthropic's, /v1beta… and /v1/models/…:method Gemini's, /api… Ollama's, the rest OpenAI's.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';

const KEY = 'gw-key-envoy-replies-1';
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ env: { GATEWAY_KEYS: `replies:${KEY}` }, log: pino({ level: 'silent' }) });
});

afterAll(async () => {
  await stack?.close(500);
});

type Shape = 'openai' | 'anthropic' | 'gemini' | 'ollama';

/** Checks an error body is the named API's error shape, and returns its message. */
function messageOf(shape: Shape, body: unknown): string {
  const b = body as Record<string, any>;
  switch (shape) {
    case 'openai':
      expect(b.error).toMatchObject({ message: expect.any(String), type: expect.any(String) });
      expect(b.type).toBeUndefined();
      return b.error.message;
    case 'anthropic':
      expect(b).toMatchObject({ type: 'error', error: { type: expect.any(String), message: expect.any(String) } });
      return b.error.message;
    case 'gemini':
      expect(b.error).toMatchObject({ code: expect.any(Number), message: expect.any(String), status: expect.any(String) });
      return b.error.message;
    case 'ollama':
      expect(typeof b.error).toBe('string');
      return b.error;
  }
}

const cases: Array<{ path: string; method?: string; shape: Shape }> = [
  { path: '/v1/chat/completions/', shape: 'openai' },
  { path: '/V1/CHAT/COMPLETIONS', shape: 'openai' },
  { path: '//v1/chat/completions', shape: 'openai' },
  { path: '/v1/chat%2Fcompletions', shape: 'openai' },
  { path: '/v1/embeddings', shape: 'openai' },
  { path: '/chat/completions', shape: 'openai' },
  { path: '/v1/messages/', shape: 'anthropic' },
  { path: '/V1/MESSAGES', shape: 'anthropic' },
  { path: '/v1/messages/batches', shape: 'anthropic' },
  { path: '/v1/messages/count_tokens', shape: 'anthropic' },
  { path: '/v1beta/models/gemini-2.5-flash:countTokens', shape: 'gemini' },
  { path: '/v1beta/models/gemini-2.5-flash:generateContent/', shape: 'gemini' },
  { path: '/v1beta/cachedContents', shape: 'gemini' },
  { path: '/v1/models/gemini-2.5-flash:embedContent', shape: 'gemini' },
  { path: '/api/generate', shape: 'ollama' },
  { path: '/api/chat/', shape: 'ollama' },
  { path: '/API/CHAT', shape: 'ollama' },
  { path: '/api/show', shape: 'ollama' },
];

describe("errors in the caller's API for paths the gateway does not serve", () => {
  it.each(cases)('$path → 404 in the $shape shape', async ({ path, method, shape }) => {
    const res = await fetch(`${stack.gatewayUrl}${path}`, {
      method: method ?? 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'x-api-key': KEY },
      body: '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}',
    });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    // Whoever answered, the caller gets a request id to quote (Envoy's own, made at the edge).
    expect(res.headers.get('x-gateway-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const text = await res.text();
    expect(messageOf(shape, JSON.parse(text))).toMatch(/unknown endpoint/i);
    expect(text).not.toMatch(/not found\n$/);
  });

  // A path that says nothing: the SDK's headers tell the API (anthropic-version, x-api-key,
  // x-goog-api-key, ?key=), else it is OpenAI's; %-escaped slashes are read as slashes.
  const anthropicHeaders = { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' };
  const told: Array<{ path: string; method?: string; headers: Record<string, string>; shape: Shape }> = [
    { path: '/v1/message', headers: anthropicHeaders, shape: 'anthropic' },
    { path: '/v1/complete', headers: anthropicHeaders, shape: 'anthropic' },
    { path: '/V1/MODELS', method: 'GET', headers: anthropicHeaders, shape: 'anthropic' },
    { path: '/v1/models', headers: anthropicHeaders, shape: 'anthropic' },
    { path: '/v2/models/gemini-2.5-flash:generateContent', headers: { 'x-goog-api-key': KEY }, shape: 'gemini' },
    { path: `/v2/models/gemini-2.5-flash:generateContent?alt=sse&key=${KEY}`, headers: {}, shape: 'gemini' },
    { path: '/v1%2Fmessages', headers: { authorization: `Bearer ${KEY}` }, shape: 'anthropic' },
    { path: '/api%2Fchat', headers: { authorization: `Bearer ${KEY}` }, shape: 'ollama' },
    { path: '/v1beta%2Fmodels%2Fgemini-2.5-flash:generateContent', headers: { authorization: `Bearer ${KEY}` }, shape: 'gemini' },
    { path: '/v1/complete', headers: { authorization: `Bearer ${KEY}` }, shape: 'openai' },
  ];
  it.each(told)('$path with $headers → 404 in the $shape shape', async ({ path, method, headers, shape }) => {
    const res = await fetch(`${stack.gatewayUrl}${path}`, {
      method: method ?? 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      ...(method === 'GET' ? {} : { body: '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}' }),
    });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(res.headers.get('x-gateway-request-id')).toBeTruthy();
    expect(messageOf(shape, await res.json())).toMatch(/unknown endpoint/i);
  });

  it('a served path still works beside them', async () => {
    const res = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}',
    });
    expect(res.status).toBe(200);
  });
});

let calls = 0;

/** A chat call of each API, as its SDK sends it, with the provider simulator told to misbehave. */
function chatCall(api: Shape, simHeaders: Record<string, string>): { path: string; init: RequestInit } {
  const json = { 'content-type': 'application/json', ...simHeaders };
  // Each call its own prompt: none is answered from the cache.
  const text = `hi ${++calls}`;
  const messages = [{ role: 'user', content: text }];
  switch (api) {
    case 'openai':
      return {
        path: '/v1/chat/completions',
        init: { method: 'POST', headers: { ...json, authorization: `Bearer ${KEY}` }, body: JSON.stringify({ model: 'gpt-4o-mini', messages }) },
      };
    case 'anthropic':
      return {
        path: '/v1/messages',
        init: {
          method: 'POST',
          headers: { ...json, 'x-api-key': KEY, 'anthropic-version': '2023-06-01' },
          body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 32, messages }),
        },
      };
    case 'gemini':
      return {
        path: '/v1beta/models/gemini-2.5-flash-lite:generateContent',
        init: { method: 'POST', headers: { ...json, 'x-goog-api-key': KEY }, body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text }] }] }) },
      };
    case 'ollama':
      return {
        path: '/api/chat',
        init: { method: 'POST', headers: { ...json, authorization: `Bearer ${KEY}` }, body: JSON.stringify({ model: 'gpt-4o-mini', stream: false, messages }) },
      };
  }
}

describe("Envoy's own replies after the processor forwarded the call", () => {
  const apis: Shape[] = ['openai', 'anthropic', 'gemini', 'ollama'];

  it.each(apis)("a provider resetting in the middle of a whole answer: Envoy's 502 in the %s caller's API (the API the processor named)", async (api) => {
    const { path, init } = chatCall(api, { 'x-sim-wire': 'cut' });
    const res = await fetch(`${stack.gatewayUrl}${path}`, init);
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(res.headers.get('x-gateway-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const body = (await res.json()) as { error?: { code?: unknown } };
    expect(messageOf(api, body)).toMatch(/broke off its answer/);
    if (api === 'gemini') expect(body.error?.code).toBe(502);
  });

  it.each(apis)("a reset before the answer is the processor's reply in the %s API, not mapped twice", async (api) => {
    const { path, init } = chatCall(api, { 'x-sim-fail': 'reset' });
    const res = await fetch(`${stack.gatewayUrl}${path}`, init);
    expect(res.status).toBe(503);
    // The processor's words (it saw Envoy's reply and rendered it), not the mapper's.
    expect(messageOf(api, await res.json())).toMatch(/^Upstream provider error \(HTTP 503\): upstream connect error/);
  });
});
