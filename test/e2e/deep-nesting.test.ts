/*
 * End to end: a body nested far deeper than any real request (JSON.parse takes 100k levels; the
 * gateway's recursive walks, JSON.stringify among them, do not) is a 400 in the caller's own API,
 * never a 500, on every endpoint and on a translated call with a deep tool schema. The processor
 * keeps serving afterwards.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';

const KEY = 'gw-key-deep-nesting-01';
const DEEP = 100_000;
let stack: LocalStack;

beforeAll(async () => {
  // The cache on: its key is one of the walks a deep body reaches.
  stack = await startLocalStack({ env: { GATEWAY_KEYS: `deep:${KEY}`, CACHE_TTL_SECONDS: '300' }, log: pino({ level: 'silent' }) });
});

afterAll(async () => {
  await stack?.close(500);
});

/** `{"a":{"a":…1…}}` as text: built without recursion, the way an attacker would send it. */
const nestedObject = (depth: number): string => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const nestedArray = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

/** A JSON Schema whose `properties` nest `depth` objects deep. */
function deepSchema(depth: number): string {
  return `${'{"type":"object","properties":{"x":'.repeat(depth)}{"type":"string"}${'}}'.repeat(depth)}`;
}

const post = (path: string, headers: Record<string, string>, body: string) =>
  fetch(`${stack.gatewayUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

const openai = (body: string) => post('/v1/chat/completions', { authorization: `Bearer ${KEY}` }, body);
const anthropic = (body: string) => post('/v1/messages', { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' }, body);
const gemini = (body: string, model = 'gemini-2.5-flash-lite') => post(`/v1beta/models/${model}:generateContent`, { 'x-goog-api-key': KEY }, body);
const ollama = (body: string) => post('/api/chat', { authorization: `Bearer ${KEY}` }, body);

const user = '[{"role":"user","content":"deep nesting probe"}]';

describe('deeply nested request bodies', () => {
  it('OpenAI: 400 invalid_request_error, in an unknown field, a translated tool schema and tool call arguments', async () => {
    for (const body of [
      `{"model":"gpt-4o-mini","messages":${user},"x_extra":${nestedObject(DEEP)}}`,
      `{"model":"gpt-4o-mini","messages":${user},"x_extra":${nestedArray(DEEP)}}`,
      // A fallback-chain head: its attempts would re-parse the body.
      `{"model":"openrouter/meta-llama/llama-3.3-70b-instruct","messages":${user},"x_extra":${nestedObject(DEEP)}}`,
      // 5k deep, to Anthropic and Gemini backends: the tool schema is translated.
      ...['claude-haiku-4-5', 'gemini-2.5-flash-lite'].map(
        (model) => `{"model":"${model}","messages":${user},"tools":[{"type":"function","function":{"name":"f","parameters":${deepSchema(5000)}}}]}`,
      ),
      // JSON text inside the body: tool call arguments the translation to Anthropic parses.
      `{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":${JSON.stringify(nestedObject(DEEP))}}}]},{"role":"tool","tool_call_id":"c1","content":"ok"}]}`,
    ]) {
      const r = await openai(body);
      const text = await r.text();
      expect(r.status, text.slice(0, 200)).toBe(400);
      const e = JSON.parse(text) as { error: { type: string; message: string; code: string } };
      expect(e.error.type).toBe('invalid_request_error');
      expect(e.error.code).toBe('invalid_value');
      expect(e.error.message).toMatch(/nest/i);
    }
  });

  it('Anthropic: 400 in its error shape', async () => {
    for (const body of [
      `{"model":"claude-haiku-4-5","max_tokens":16,"messages":${user},"x_extra":${nestedObject(DEEP)}}`,
      `{"model":"gpt-4o-mini","max_tokens":16,"messages":${user},"tools":[{"name":"f","input_schema":${deepSchema(5000)}}]}`,
    ]) {
      const r = await anthropic(body);
      const text = await r.text();
      expect(r.status, text.slice(0, 200)).toBe(400);
      const e = JSON.parse(text) as { type: string; error: { type: string; message: string } };
      expect(e.type).toBe('error');
      expect(e.error.type).toBe('invalid_request_error');
      expect(e.error.message).toMatch(/nest/i);
    }
  });

  it('Gemini: 400 INVALID_ARGUMENT, same-format and fallback models alike', async () => {
    const body = `{"contents":[{"parts":[{"text":"deep nesting probe"}]}],"x_extra":${nestedObject(DEEP)}}`;
    for (const model of ['gemini-2.5-flash-lite', 'openrouter/meta-llama/llama-3.3-70b-instruct']) {
      const r = await gemini(body, model);
      const text = await r.text();
      expect(r.status, text.slice(0, 200)).toBe(400);
      const e = JSON.parse(text) as { error: { code: number; status: string; message: string } };
      expect(e.error.code).toBe(400);
      expect(e.error.status).toBe('INVALID_ARGUMENT');
      expect(e.error.message).toMatch(/nest/i);
    }
    const schema = deepSchema(5000).replaceAll('"object"', '"OBJECT"').replaceAll('"string"', '"STRING"');
    const r = await gemini(`{"contents":[{"parts":[{"text":"probe"}]}],"tools":[{"functionDeclarations":[{"name":"f","parameters":${schema}}]}]}`);
    expect(r.status).toBe(400);
  });

  it('Ollama: 400 with its {"error": "…"} body', async () => {
    const r = await ollama(`{"model":"ollama/llama3.2","stream":false,"messages":${user},"options":${nestedObject(DEEP)}}`);
    const text = await r.text();
    expect(r.status, text.slice(0, 200)).toBe(400);
    const e = JSON.parse(text) as { error: unknown };
    expect(typeof e.error).toBe('string');
    expect(e.error).toMatch(/nest/i);
  });

  it('a tool schema nested 20 levels still goes through, translated, and the processor still serves', async () => {
    const r = await openai(
      `{"model":"claude-haiku-4-5","messages":${user},"tools":[{"type":"function","function":{"name":"f","parameters":${deepSchema(20)}}}]}`,
    );
    expect(r.status, await r.clone().text()).toBe(200);
    const sent = stack.simulators.anthropic!.requests.at(-1)!.body as { tools: Array<{ input_schema: unknown }> };
    let depth = 0;
    for (let s = sent.tools[0]!.input_schema as { properties?: { x: unknown } }; s.properties; s = s.properties.x as typeof s) depth++;
    expect(depth).toBe(20);
    const plain = await gemini('{"contents":[{"parts":[{"text":"still alive?"}]}]}');
    expect(plain.status).toBe(200);
  });
});
