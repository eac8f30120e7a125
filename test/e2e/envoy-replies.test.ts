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

  it('a served path still works beside them', async () => {
    const res = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}',
    });
    expect(res.status).toBe(200);
  });
});
