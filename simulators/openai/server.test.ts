import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import OpenAI from 'openai';
import {
  startOpenAISimulator,
  countPromptTokens,
  planCompletion,
  maskApiKey,
  formatResetDuration,
  DEFAULT_COMPLETION_TOKENS,
  SIM_GREETING,
  type OpenAISimulator,
} from './server.js';

const API_KEY = 'sk-test-simulator-key-1234';

interface SseResult {
  status: number;
  headers: Headers;
  events: string[];
  raw: string;
}

async function postRaw(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function sse(url: string, body: unknown): Promise<SseResult> {
  const res = await postRaw(url, body);
  const raw = await res.text();
  expect(raw.endsWith('\n\n')).toBe(true);
  const events = raw.slice(0, -2).split('\n\n');
  return { status: res.status, headers: res.headers, events, raw };
}

function dataJson(event: string): Record<string, unknown> {
  expect(event.startsWith('data: ')).toBe(true);
  return JSON.parse(event.slice('data: '.length)) as Record<string, unknown>;
}

describe('OpenAI simulator', () => {
  let sim: OpenAISimulator;
  let client: OpenAI;

  beforeAll(async () => {
    sim = await startOpenAISimulator({ apiKey: API_KEY });
    client = new OpenAI({ apiKey: API_KEY, baseURL: `${sim.url}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('answers a non-stream chat completion in OpenAI shape (SDK)', async () => {
    const messages = [
      { role: 'system' as const, content: 'You are terse.' },
      { role: 'user' as const, content: 'What is the capital of France?' },
    ];
    const res = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(res.id).toMatch(/^chatcmpl-/);
    expect(res.object).toBe('chat.completion');
    expect(res.model).toBe('gpt-4o-mini');
    expect(typeof res.created).toBe('number');
    expect(Math.abs(res.created - Date.now() / 1000)).toBeLessThan(10);
    expect(typeof res.system_fingerprint).toBe('string');
    expect(res.choices).toHaveLength(1);
    const choice = res.choices[0]!;
    expect(choice.index).toBe(0);
    expect(choice.finish_reason).toBe('stop');
    expect(choice.logprobs).toBeNull();
    expect(choice.message.role).toBe('assistant');
    expect(choice.message.refusal).toBeNull();
    const content = choice.message.content ?? '';
    expect(content.startsWith(`${SIM_GREETING} What is the capital of France?`)).toBe(true);
    expect(content.split(' ')).toHaveLength(DEFAULT_COMPLETION_TOKENS);
    expect(content).toBe(planCompletion({ messages }).content);
    expect(res.usage).toEqual({
      prompt_tokens: countPromptTokens(messages),
      completion_tokens: DEFAULT_COMPLETION_TOKENS,
      total_tokens: countPromptTokens(messages) + DEFAULT_COMPLETION_TOKENS,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    });
    // ceil((14 + 30) / 4) + 3 * 2
    expect(countPromptTokens(messages)).toBe(17);
  });

  it('streams chunks with usage when include_usage is set (SDK)', async () => {
    const messages = [{ role: 'user' as const, content: 'Stream me something [sim:tokens=10]' }];
    const stream = await client.chat.completions.create({
      model: 'gpt-4.1',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);

    expect(chunks.length).toBeGreaterThanOrEqual(4);
    const ids = new Set(chunks.map((c) => c.id));
    expect(ids.size).toBe(1);
    expect(new Set(chunks.map((c) => c.created)).size).toBe(1);
    for (const c of chunks) {
      expect(c.object).toBe('chat.completion.chunk');
      expect(c.model).toBe('gpt-4.1');
    }
    const first = chunks[0]!;
    expect(first.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
    expect(first.choices[0]!.finish_reason).toBeNull();

    const last = chunks[chunks.length - 1]!;
    expect(last.choices).toEqual([]);
    expect(last.usage?.prompt_tokens).toBe(countPromptTokens(messages));
    expect(last.usage?.completion_tokens).toBe(10);
    expect(last.usage?.total_tokens).toBe(countPromptTokens(messages) + 10);

    const finish = chunks[chunks.length - 2]!;
    expect(finish.choices[0]!.delta).toEqual({});
    expect(finish.choices[0]!.finish_reason).toBe('stop');

    const middle = chunks.slice(1, -2);
    expect(middle.length).toBeGreaterThan(1);
    for (const c of middle) {
      expect(c.usage).toBeNull();
      expect(c.choices[0]!.finish_reason).toBeNull();
    }
    const text = middle.map((c) => c.choices[0]!.delta.content ?? '').join('');
    expect(text).toBe(planCompletion({ messages }).content);
    expect(text.split(' ')).toHaveLength(10);
  });

  it('uses exact SSE framing; usage only when asked; [DONE] last', async () => {
    const url = `${sim.url}/v1/chat/completions`;
    const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi [sim:tokens=6]' }], stream: true };

    const plain = await sse(url, body);
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('text/event-stream');
    expect(plain.events[plain.events.length - 1]).toBe('data: [DONE]');
    const plainJson = plain.events.slice(0, -1).map(dataJson);
    expect((plainJson[0]!.choices as unknown[])[0]).toEqual({
      index: 0,
      delta: { role: 'assistant', content: '' },
      logprobs: null,
      finish_reason: null,
    });
    for (const c of plainJson) expect('usage' in c).toBe(false);
    const lastPlain = plainJson[plainJson.length - 1]!;
    expect((lastPlain.choices as Array<Record<string, unknown>>)[0]!.finish_reason).toBe('stop');
    // No other lines than data lines.
    for (const ev of plain.events) expect(ev.split('\n')).toHaveLength(1);

    const withUsage = await sse(url, { ...body, stream_options: { include_usage: true } });
    expect(withUsage.events[withUsage.events.length - 1]).toBe('data: [DONE]');
    const usageJson = withUsage.events.slice(0, -1).map(dataJson);
    const usageChunk = usageJson[usageJson.length - 1]!;
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toMatchObject({
      prompt_tokens: countPromptTokens(body.messages),
      completion_tokens: 6,
      total_tokens: countPromptTokens(body.messages) + 6,
    });
    for (const c of usageJson.slice(0, -1)) {
      expect('usage' in c).toBe(true);
      expect(c.usage).toBeNull();
    }
    expect(usageJson.length).toBe(plainJson.length + 1);
  });

  it('rejects a wrong API key with 401 invalid_api_key and masks the key', async () => {
    const bad = new OpenAI({ apiKey: 'sk-wrong-key-abcdefgh9876', baseURL: `${sim.url}/v1`, maxRetries: 0 });
    const err = await bad.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    const apiErr = err as InstanceType<typeof OpenAI.AuthenticationError>;
    expect(apiErr.status).toBe(401);
    expect(apiErr.code).toBe('invalid_api_key');
    expect(apiErr.type).toBe('invalid_request_error');
    expect(apiErr.message).toContain('Incorrect API key provided');
    expect(apiErr.message).toContain('9876');
    expect(apiErr.message).not.toContain('sk-wrong-key');

    const missing = await fetch(`${sim.url}/v1/models`);
    expect(missing.status).toBe(401);
    const body = (await missing.json()) as { error: Record<string, unknown> };
    expect(body.error.code).toBe('invalid_api_key');
    expect(missing.headers.get('x-request-id')).toMatch(/^req_/);
  });

  it('refuses even its own key with x-sim-reject-key, quoting only the masked tail', async () => {
    const r = await postRaw(`${sim.url}/v1/chat/completions`, { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }, { 'x-sim-reject-key': '1' });
    expect(r.status).toBe(401);
    const body = (await r.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_api_key');
    expect(body.error.message).toContain(`****${API_KEY.slice(-4)}`);
    expect(body.error.message).not.toContain(API_KEY);
  });

  it('returns 400 for invalid JSON and for missing/empty messages', async () => {
    const url = `${sim.url}/v1/chat/completions`;
    const badJson = await postRaw(url, '{"model": "gpt-4o", "messages": [');
    expect(badJson.status).toBe(400);
    const b1 = (await badJson.json()) as { error: Record<string, unknown> };
    expect(b1.error).toMatchObject({ type: 'invalid_request_error', param: null, code: null });
    expect(String(b1.error.message)).toContain('could not parse the JSON body');

    const empty = await postRaw(url, { model: 'gpt-4o', messages: [] });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toMatchObject({
      error: { type: 'invalid_request_error', param: 'messages', code: null },
    });

    const missing = await postRaw(url, { model: 'gpt-4o' });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({
      error: { message: "Missing required parameter: 'messages'.", param: 'messages' },
    });

    const noModel = await postRaw(url, { messages: [{ role: 'user', content: 'x' }] });
    expect(noModel.status).toBe(400);
    expect(await noModel.json()).toMatchObject({ error: { type: 'invalid_request_error' } });

    const optsNoStream = await postRaw(url, {
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'x' }],
      stream_options: { include_usage: true },
    });
    expect(optsNoStream.status).toBe(400);
    expect(await optsNoStream.json()).toMatchObject({ error: { param: 'stream_options' } });
  });

  it('injects failures via x-sim-fail', async () => {
    const url = `${sim.url}/v1/chat/completions`;
    const body = { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] };

    const r429 = await postRaw(url, body, { 'x-sim-fail': '429' });
    expect(r429.status).toBe(429);
    expect(r429.headers.get('retry-after')).toBe('1');
    expect(r429.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(await r429.json()).toMatchObject({ error: { code: 'rate_limit_exceeded', param: null } });

    const r500 = await postRaw(url, body, { 'x-sim-fail': '500' });
    expect(r500.status).toBe(500);
    expect(await r500.json()).toMatchObject({ error: { type: 'server_error' } });

    const r503 = await postRaw(url, body, { 'x-sim-fail': '503' });
    expect(r503.status).toBe(503);
    const b503 = (await r503.json()) as { error: { message: string; type: string } };
    expect(b503.error.type).toBe('server_error');
    expect(b503.error.message).toContain('overloaded');

    // The SDK maps it onto its typed error.
    const err = await client.chat.completions
      .create(body as OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming, {
        headers: { 'x-sim-fail': '429' },
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
  });

  it('hangs with x-sim-fail: hang until the client disconnects', async () => {
    const before = sim.requestCount();
    const ac = new AbortController();
    const started = Date.now();
    const outcome = fetch(`${sim.url}/v1/chat/completions`, {
      method: 'POST',
      signal: ac.signal,
      headers: { authorization: `Bearer ${API_KEY}`, 'x-sim-fail': 'hang' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
    }).then(
      () => 'answered',
      () => 'aborted',
    );
    const raced = await Promise.race([outcome, new Promise<string>((r) => setTimeout(() => r('pending'), 150))]);
    expect(raced).toBe('pending');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(sim.requestCount()).toBe(before + 1);
    ac.abort();
    expect(await outcome).toBe('aborted');
  });

  it('honours x-sim-latency-ms', async () => {
    const t = Date.now();
    const res = await postRaw(`${sim.url}/v1/chat/completions`, { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }, { 'x-sim-latency-ms': '120' });
    expect(res.status).toBe(200);
    await res.json();
    expect(Date.now() - t).toBeGreaterThanOrEqual(110);
  });

  it('matches routes by path suffix (Groq, OpenRouter, DeepSeek prefixes)', async () => {
    for (const prefix of ['/openai/v1', '/api/v1', '/v1', '']) {
      const res = await postRaw(`${sim.url + prefix}/chat/completions`, {
        model: 'llama-3.3-70b',
        messages: [{ role: 'user', content: 'prefix test' }],
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { model: string; choices: Array<{ message: { content: string } }> };
      expect(body.model).toBe('llama-3.3-70b');
      expect(body.choices[0]!.message.content).toContain('You said: prefix test');
    }
    const groq = new OpenAI({ apiKey: API_KEY, baseURL: `${sim.url}/openai/v1`, maxRetries: 0 });
    const r = await groq.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hey' }] });
    expect(r.choices[0]!.message.content).toContain('You said: hey');

    const models = await groq.models.list();
    expect(models.data.length).toBeGreaterThan(0);
    for (const m of models.data) {
      expect(m.object).toBe('model');
      expect(typeof m.id).toBe('string');
      expect(typeof m.created).toBe('number');
      expect(typeof m.owned_by).toBe('string');
    }

    const notFound = await fetch(`${sim.url}/v1/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}` },
      body: '{}',
    });
    expect(notFound.status).toBe(404);
    expect(await notFound.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
  });

  it('truncates with max_tokens / max_completion_tokens and reports finish_reason length', async () => {
    const messages = [{ role: 'user' as const, content: 'Tell me a long story [sim:tokens=50]' }];
    const r1 = await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 5 });
    expect(r1.choices[0]!.finish_reason).toBe('length');
    expect(r1.usage?.completion_tokens).toBe(5);
    expect(r1.choices[0]!.message.content).toBe('Hello from the simulator. You');

    const r2 = await client.chat.completions.create({ model: 'gpt-4o', messages, max_completion_tokens: 7 });
    expect(r2.choices[0]!.finish_reason).toBe('length');
    expect(r2.usage?.completion_tokens).toBe(7);

    const r3 = await client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 50 });
    expect(r3.choices[0]!.finish_reason).toBe('stop');
    expect(r3.usage?.completion_tokens).toBe(50);

    const r4 = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'nothing [sim:tokens=0]' }],
    });
    expect(r4.choices[0]!.message.content).toBe('');
    expect(r4.usage?.completion_tokens).toBe(0);
  });

  it('sets rate-limit and request-id headers and records requests', async () => {
    const before = sim.requests.length;
    const res = await postRaw(`${sim.url}/v1/chat/completions?x=1`, {
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'record me' }],
    });
    await res.json();
    for (const h of [
      'x-ratelimit-limit-requests',
      'x-ratelimit-remaining-requests',
      'x-ratelimit-reset-requests',
      'x-ratelimit-limit-tokens',
      'x-ratelimit-remaining-tokens',
      'x-ratelimit-reset-tokens',
      'x-request-id',
      'openai-processing-ms',
    ]) {
      expect(res.headers.get(h), h).not.toBeNull();
    }
    expect(Number(res.headers.get('x-ratelimit-remaining-requests'))).toBeLessThan(Number(res.headers.get('x-ratelimit-limit-requests')));
    expect(res.headers.get('x-ratelimit-reset-tokens')).toMatch(/^(\d+ms|[\d.]+s|\d+m[\d.]+s)$/);
    expect(sim.requests.length).toBe(Math.min(before + 1, 1000));
    const rec = sim.requests[sim.requests.length - 1]!;
    expect(rec.method).toBe('POST');
    expect(rec.path).toBe('/v1/chat/completions?x=1');
    expect(rec.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(rec.body).toEqual({ model: 'gpt-4o', messages: [{ role: 'user', content: 'record me' }] });
  });
});

describe('OpenAI simulator options', () => {
  it('paces streams with tokensPerSecond (first chunk well before the end)', async () => {
    const sim = await startOpenAISimulator({ tokensPerSecond: 200 });
    try {
      const client = new OpenAI({ apiKey: 'unused', baseURL: `${sim.url}/v1`, maxRetries: 0 });
      const t0 = Date.now();
      const stream = await client.chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'pace [sim:tokens=40]' }],
        stream: true,
      });
      let firstContentAt = -1;
      let text = '';
      for await (const chunk of stream) {
        const c = chunk.choices[0]?.delta.content;
        if (c) {
          if (firstContentAt < 0) firstContentAt = Date.now() - t0;
          text += c;
        }
      }
      const total = Date.now() - t0;
      expect(text.split(' ')).toHaveLength(40);
      // 40 tokens at 200 tok/s = 200 ms.
      expect(total).toBeGreaterThanOrEqual(180);
      expect(firstContentAt).toBeGreaterThanOrEqual(0);
      expect(firstContentAt).toBeLessThan(total / 2);
    } finally {
      await sim.close();
    }
  });

  it('injects failEvery failures and works without an api key', async () => {
    const sim = await startOpenAISimulator({ failEvery: 3, failStatus: 502 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await fetch(`${sim.url}/v1/chat/completions`, {
          method: 'POST',
          body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
        });
        await res.text();
        statuses.push(res.status);
      }
      expect(statuses).toEqual([200, 200, 502, 200, 200, 502]);
      expect(sim.requestCount()).toBe(6);
    } finally {
      await sim.close();
    }
  });

  it('applies latencyMs before the response starts', async () => {
    const sim = await startOpenAISimulator({ latencyMs: 100 });
    try {
      const t0 = Date.now();
      const res = await fetch(`${sim.url}/v1/models`);
      expect(res.status).toBe(200);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
      expect(await res.json()).toMatchObject({ object: 'list' });
    } finally {
      await sim.close();
    }
  });

  it('drops the connection mid-stream with x-sim-fail: midstream', async () => {
    const sim = await startOpenAISimulator();
    try {
      const res = await fetch(`${sim.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'x-sim-fail': 'midstream' },
        body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], stream: true }),
      });
      expect(res.status).toBe(200);
      await expect(res.text()).rejects.toThrow();
    } finally {
      await sim.close();
    }
  });
});

describe('simulator helpers', () => {
  it('countPromptTokens follows the documented rule', () => {
    expect(countPromptTokens([{ role: 'user', content: 'abcd' }])).toBe(1 + 3);
    expect(countPromptTokens([{ role: 'user', content: 'abcde' }])).toBe(2 + 3);
    expect(
      countPromptTokens([
        { role: 'system', content: null },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'abc' },
            { type: 'image_url', image_url: { url: 'x' } },
          ],
        },
      ]),
    ).toBe(1 + 6);
  });

  it('planCompletion echoes at most 40 characters and pads deterministically', () => {
    const long = 'a'.repeat(100);
    const p = planCompletion({ messages: [{ role: 'user', content: long }] });
    expect(p.content.startsWith(`${SIM_GREETING} ${'a'.repeat(40)} lorem ipsum`)).toBe(true);
    expect(p.completionTokens).toBe(DEFAULT_COMPLETION_TOKENS);
    expect(p.finishReason).toBe('stop');
    const big = planCompletion({ messages: [{ role: 'user', content: '[sim:tokens=999999]' }] });
    expect(big.completionTokens).toBe(100_000);
  });

  it('masks api keys and formats reset durations', () => {
    expect(maskApiKey('sk-abcdefghijklmnop1234').endsWith('1234')).toBe(true);
    expect(maskApiKey('sk-abcdefghijklmnop1234')).not.toContain('abc');
    expect(maskApiKey('abc')).toBe('****');
    expect(formatResetDuration(120)).toBe('120ms');
    expect(formatResetDuration(8640)).toBe('8.64s');
    expect(formatResetDuration(360_000)).toBe('6m0s');
  });
});
