/*
 * End to end: the official `openai` SDK → real Envoy → real processor → OpenAI simulator.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../../ext-proc/src/catalog/load.js';
import { repoRoot } from '../../ext-proc/src/config/paths.js';
import { costUsd, formatUsd } from '../../ext-proc/src/metering/cost.js';
import { SIMULATOR_PROVIDER_KEY, startLocalStack, type LocalStack } from '../../scripts/lib/local-stack.js';
import { countPromptTokens, planCompletion } from '../../simulators/openai/completion.js';
import { startEchoServer } from '../helpers/passthrough-server.js';
import { metricValue } from '../helpers/prom.js';

const KEY = 'gw-key-acme-000001';
const METER_KEY = 'gw-key-meter-00001';
const MAX_REQUEST_BYTES = 12 * 1024 * 1024;
const catalog = loadCatalog(path.join(repoRoot(), 'models', 'catalog.yaml'));
const mini = catalog.find('gpt-4o-mini')!;

let stack: LocalStack;
let echo: Awaited<ReturnType<typeof startEchoServer>>;
let accessLogPath: string;
let client: OpenAI;

beforeAll(async () => {
  echo = await startEchoServer();
  accessLogPath = path.join(mkdtempSync(path.join(os.tmpdir(), 'gw-e2e-')), 'access.log');
  stack = await startLocalStack({
    // These calls test the provider path (the same request is sent more than once); the cache has its own suite.
    env: { GATEWAY_KEYS: `acme:${KEY},meter:${METER_KEY}`, MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES), CACHE_TTL_SECONDS: '0' },
    log: pino({ level: 'silent' }),
    passthrough: { host: '127.0.0.1', port: echo.port },
    accessLog: accessLogPath,
  });
  client = new OpenAI({ apiKey: KEY, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await stack?.close(500);
  await echo?.close();
});

const messages = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'What is the capital of France?' },
];
const expected = planCompletion({ messages });

function post(body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${stack.gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...headers },
    body,
  });
}

describe('chat completions through Envoy', () => {
  it('answers a non-stream call with text, usage, finish reason and gateway headers', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages }).withResponse();
    expect(response.status).toBe(200);
    expect(data.object).toBe('chat.completion');
    expect(data.choices[0]?.message.content).toBe(expected.content);
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(data.usage?.prompt_tokens).toBe(countPromptTokens(messages));
    expect(data.usage?.completion_tokens).toBe(expected.completionTokens);

    const usage = { inputTokens: data.usage!.prompt_tokens, outputTokens: data.usage!.completion_tokens, cachedInputTokens: 0, reasoningTokens: 0 };
    expect(response.headers.get('x-gateway-model')).toBe('gpt-4o-mini');
    expect(response.headers.get('x-gateway-provider')).toBe('openai');
    expect(response.headers.get('x-gateway-cache')).toBe('bypass');
    expect(response.headers.get('x-gateway-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('x-gateway-cost-usd')).toBe(formatUsd(costUsd(usage, mini.pricing)));
    // The provider's account headers stay inside the gateway.
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBeNull();
  });

  it('streams chunk by chunk and hides the usage chunk the caller did not ask for', async () => {
    const { data: stream, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true }).withResponse();
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('x-gateway-model')).toBe('gpt-4o-mini');
    let text = '';
    let finish: string | null | undefined;
    let chunks = 0;
    let sawUsage = false;
    for await (const chunk of stream) {
      chunks++;
      if (chunk.usage) sawUsage = true;
      const choice = chunk.choices[0];
      if (choice?.delta.content) text += choice.delta.content;
      if (choice?.finish_reason) finish = choice.finish_reason;
    }
    expect(text).toBe(expected.content);
    expect(finish).toBe('stop');
    expect(chunks).toBeGreaterThan(3);
    expect(sawUsage).toBe(false);
    // ...but the gateway asked the provider for it, and metered it.
    const upstream = stack.simulator!.requests.at(-1)!;
    expect((upstream.body as { stream_options?: { include_usage?: boolean } }).stream_options?.include_usage).toBe(true);
  });

  it('passes the usage chunk through when the caller asks for it', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true } });
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage?.prompt_tokens).toBe(countPromptTokens(messages));
    expect(usage?.completion_tokens).toBe(expected.completionTokens);
  });

  it('reaches the provider with the provider credential, never the gateway key or internal headers', async () => {
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages }, { headers: { 'x-gateway-cluster': 'passthrough', 'x-gateway-tenant': 'evil' } });
    const upstream = stack.simulator!.requests.at(-1)!;
    expect(upstream.path).toBe('/v1/chat/completions');
    expect(upstream.headers.authorization).toBe(`Bearer ${SIMULATOR_PROVIDER_KEY}`);
    expect(JSON.stringify(upstream.headers)).not.toContain(KEY);
    expect(Object.keys(upstream.headers).filter((h) => h.startsWith('x-gateway-'))).toEqual([]);
    expect(upstream.headers.host).toBe('api.openai.com');
  });

  it('rewrites path, host and model for a provider with its own base path and model id', async () => {
    const model = catalog.models.find((m) => m.provider.id === 'groq' && m.upstreamId !== m.id)!;
    const { data, response } = await client.chat.completions.create({ model: model.id, messages }).withResponse();
    expect(response.headers.get('x-gateway-provider')).toBe('groq');
    expect(data.choices[0]?.message.content).toBe(expected.content);
    const upstream = stack.simulator!.requests.at(-1)!;
    expect(upstream.path).toBe(`${model.provider.basePath}/chat/completions`);
    expect(upstream.headers.host).toBe(model.provider.host);
    expect((upstream.body as { model: string }).model).toBe(model.upstreamId);
  });

  it('lists the catalog on /v1/models with context window and pricing', async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toContain('gpt-4o-mini');
    expect(ids.length).toBe(catalog.models.length);
    const raw = (await (await fetch(`${stack.gatewayUrl}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as {
      data: Array<{ id: string; context_window: number; pricing: { input_per_million: number; output_per_million: number } }>;
    };
    const entry = raw.data.find((m) => m.id === 'gpt-4o-mini')!;
    expect(entry.context_window).toBe(mini.contextWindow);
    expect(entry.pricing.input_per_million).toBe(mini.pricing.inputPerMTok);
    expect(entry.pricing.output_per_million).toBe(mini.pricing.outputPerMTok);
  });

  it('carries an 8 MB prompt through Envoy and the processor', async () => {
    const big = 'lorem ipsum '.repeat((8 * 1024 * 1024) / 12);
    const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: big }] });
    expect(r.usage?.prompt_tokens).toBe(countPromptTokens([{ role: 'user', content: big }]));
  });
});

describe('errors in the OpenAI format', () => {
  const expectOpenAIError = async (r: Response, status: number) => {
    expect(r.status).toBe(status);
    expect(r.headers.get('content-type')).toContain('application/json');
    expect(r.headers.get('x-gateway-request-id')).toBeTruthy();
    const body = (await r.json()) as { error: { message: string; type: string; param: unknown; code: unknown } };
    expect(typeof body.error.message).toBe('string');
    expect(typeof body.error.type).toBe('string');
    expect(body.error).toHaveProperty('param');
    expect(body.error).toHaveProperty('code');
    expect(JSON.stringify(body)).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
    return body.error;
  };

  it('401 without a key and with an unknown key', async () => {
    const none = await fetch(`${stack.gatewayUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await expectOpenAIError(none, 401);
    const wrong = new OpenAI({ apiKey: 'gw-not-a-real-key', baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
    const err = await wrong.chat.completions.create({ model: 'gpt-4o-mini', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
    expect(String((err as Error).message)).not.toContain('gw-not-a-real-key');
  });

  it('400 for malformed JSON, wrong types, empty messages and unknown roles', async () => {
    expect((await expectOpenAIError(await post('{"model": "gpt-4o-mini", "messages": ['), 400)).code).toBe('invalid_json');
    const typeErr = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, temperature: 'hot' as unknown as number }).catch((e: unknown) => e);
    expect(typeErr).toBeInstanceOf(OpenAI.BadRequestError);
    expect((typeErr as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('temperature');
    const empty = await expectOpenAIError(await post(JSON.stringify({ model: 'gpt-4o-mini', messages: [] })), 400);
    expect(empty.param).toBe('messages');
    const role = await expectOpenAIError(await post(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'wizard', content: 'hi' }] })), 400);
    expect(role.param).toBe('messages[0].role');
    expect(role.message).toContain('wizard');
  });

  it('404 for a model the catalog does not have', async () => {
    const err = await client.chat.completions.create({ model: 'gpt-imaginary', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
  });

  it('413 over the configured request size', async () => {
    const big = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(MAX_REQUEST_BYTES) }] });
    expect((await expectOpenAIError(await post(big), 413)).code).toBe('request_too_large');
  });

  it('passes provider errors through with their status (429 keeps retry-after)', async () => {
    const r = await post(JSON.stringify({ model: 'gpt-4o-mini', messages }), { 'x-sim-fail': '429' });
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('1');
    expect((await r.json()) as unknown).toHaveProperty('error.code', 'rate_limit_exceeded');
  });

  it('turns a connection reset by the provider into a 5xx in the OpenAI format', async () => {
    const r = await post(JSON.stringify({ model: 'gpt-4o-mini', messages }), { 'x-sim-fail': 'reset' });
    const error = await expectOpenAIError(r, 503);
    expect(error.code).toBe('upstream_error');
  });
});

describe('metering and pass-through', () => {
  it('shows the tokens and cost of the calls just made in /metrics and in the access log', async () => {
    const meter = new OpenAI({ apiKey: METER_KEY, baseURL: `${stack.gatewayUrl}/v1`, maxRetries: 0 });
    const a = await meter.chat.completions.create({ model: 'gpt-4o-mini', messages });
    const s = await meter.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'count to [sim:tokens=57]' }], stream: true });
    for await (const _ of s) void _;
    const streamUsage = { inputTokens: countPromptTokens([{ role: 'user', content: 'count to [sim:tokens=57]' }]), outputTokens: 57 };
    const input = a.usage!.prompt_tokens + streamUsage.inputTokens;
    const output = a.usage!.completion_tokens + streamUsage.outputTokens;
    const expectedCost =
      costUsd({ inputTokens: a.usage!.prompt_tokens, outputTokens: a.usage!.completion_tokens, cachedInputTokens: 0, reasoningTokens: 0 }, mini.pricing) +
      costUsd({ ...streamUsage, cachedInputTokens: 0, reasoningTokens: 0 }, mini.pricing);

    const text = await (await fetch(stack.metricsUrl)).text();
    const labels = { tenant: 'meter', gen_ai_request_model: 'gpt-4o-mini', gen_ai_provider_name: 'openai' };
    expect(metricValue(text, 'gen_ai_client_token_usage_sum', { ...labels, gen_ai_token_type: 'input' })).toBe(input);
    expect(metricValue(text, 'gen_ai_client_token_usage_sum', { ...labels, gen_ai_token_type: 'output' })).toBe(output);
    expect(metricValue(text, 'gen_ai_client_token_usage_count', { ...labels, gen_ai_token_type: 'output' })).toBe(2);
    expect(metricValue(text, 'llm_gateway_cost_usd_total', labels)).toBeCloseTo(expectedCost, 9);
    expect(metricValue(text, 'gen_ai_server_request_duration_seconds_count', labels)).toBe(2);
    expect(metricValue(text, 'gen_ai_server_time_to_first_token_seconds_count', labels)).toBe(1);

    let lines: Array<Record<string, unknown>> = [];
    // Envoy writes the access log when the stream closes and flushes the file about once a second.
    for (let i = 0; i < 100 && lines.length < 2; i++) {
      lines = readFileSync(accessLogPath, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.tenant === 'meter');
      if (lines.length < 2) await new Promise((r) => setTimeout(r, 50));
    }

    expect(lines).toHaveLength(2);
    expect(lines.map((l) => l.output_tokens).sort()).toEqual([a.usage!.completion_tokens, 57].sort());
    for (const l of lines) {
      expect(l.model).toBe('gpt-4o-mini');
      expect(typeof l.cost_usd).toBe('number');
    }
  });

  it('leaves non-LLM paths untouched: no key needed, headers and body as sent', async () => {
    const r = await fetch(`${stack.gatewayUrl}/internal/orders?id=7`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: 'Bearer service-token' },
      body: 'order body',
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-echo')).toBe('yes');
    expect(r.headers.get('x-gateway-request-id')).toBeNull();
    const seen = echo.seen.at(-1)!;
    expect(seen.url).toBe('/internal/orders?id=7');
    expect(seen.body).toBe('order body');
    expect(seen.headers.authorization).toBe('Bearer service-token');
  });

  it('does not let a caller reach a provider by sending the routing header on another path', async () => {
    const before = stack.simulator!.requestCount();
    const r = await fetch(`${stack.gatewayUrl}/internal/orders`, {
      method: 'POST',
      headers: { 'x-gateway-cluster': 'openai', authorization: `Bearer ${KEY}` },
      body: '{}',
    });
    expect(r.status).toBe(404);
    expect(stack.simulator!.requestCount()).toBe(before);
  });

  it('serves /healthz from Envoy', async () => {
    const r = await fetch(`${stack.gatewayUrl}/healthz`);
    expect(r.status).toBe(200);
  });
});
