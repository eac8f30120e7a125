import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnthropicStreamDecoder } from '../../ext-proc/src/providers/anthropic/stream.js';
import type { StreamEvent } from '../../ext-proc/src/providers/canonical/types.js';
import { DEFAULT_COMPLETION_TOKENS, SIM_GREETING } from '../openai/completion.js';
import { countInputTokens, modelsPage, planMessage, SIM_MODELS, startAnthropicSimulator, TOOL_CALL_OUTPUT_TOKENS, type AnthropicSimulator } from './server.js';

const API_KEY = 'sk-ant-sim-test-key-0001';
const VERSION = '2023-06-01';
const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'Get the current weather in a given location',
  input_schema: { type: 'object' as const, properties: { location: { type: 'string' } }, required: ['location'] },
};

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

function parseSse(raw: string): SseEvent[] {
  expect(raw.endsWith('\n\n')).toBe(true);
  return raw
    .slice(0, -2)
    .split('\n\n')
    .map((block) => {
      const [eventLine, dataLine, ...rest] = block.split('\n');
      expect(rest).toEqual([]);
      expect(eventLine!.startsWith('event: ')).toBe(true);
      expect(dataLine!.startsWith('data: ')).toBe(true);
      const data = JSON.parse(dataLine!.slice(6)) as Record<string, unknown>;
      expect(data.type).toBe(eventLine!.slice(7));
      return { event: eventLine!.slice(7), data };
    });
}

describe('Anthropic simulator', () => {
  let sim: AnthropicSimulator;
  let client: Anthropic;

  const post = (body: unknown, headers: Record<string, string> = {}, path = '/v1/messages') =>
    fetch(sim.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY, 'anthropic-version': VERSION, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(sim.url + path, { headers: { 'x-api-key': API_KEY, 'anthropic-version': VERSION, ...headers } });

  beforeAll(async () => {
    sim = await startAnthropicSimulator({ apiKey: API_KEY });
    client = new Anthropic({ apiKey: API_KEY, baseURL: sim.url, maxRetries: 0 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('answers a Message (SDK, non-stream) with the planned text, usage and headers', async () => {
    const params = {
      model: 'claude-sonnet-4-6',
      max_tokens: 1024,
      system: 'You are terse.',
      messages: [{ role: 'user' as const, content: 'What is the capital of France?' }],
    };
    const { data, response, request_id } = await client.messages.create(params).withResponse();
    const plan = planMessage(params);
    expect(plan.kind).toBe('text');
    expect(data.id).toMatch(/^msg_01[A-Za-z0-9]{22}$/);
    expect(data.type).toBe('message');
    expect(data.role).toBe('assistant');
    expect(data.model).toBe('claude-sonnet-4-6');
    expect(data.content).toEqual([{ type: 'text', text: plan.kind === 'text' ? plan.text : '' }]);
    expect((data.content[0] as { text: string }).text.startsWith(`${SIM_GREETING} What is the capital of France?`)).toBe(true);
    expect(data.stop_reason).toBe('end_turn');
    expect(data.stop_sequence).toBeNull();
    // ceil((14 + 30) / 4) + 3 * 2
    expect(data.usage).toMatchObject({
      input_tokens: 17,
      output_tokens: DEFAULT_COMPLETION_TOKENS,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 0,
    });
    expect(request_id).toMatch(/^req_01/);
    expect(response.headers.get('anthropic-ratelimit-requests-limit')).toBe('4000');
    expect(Number(response.headers.get('anthropic-ratelimit-requests-remaining'))).toBeLessThan(4000);
    expect(response.headers.get('anthropic-ratelimit-requests-reset')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    for (const kind of ['tokens', 'input-tokens', 'output-tokens']) {
      expect(Number(response.headers.get(`anthropic-ratelimit-${kind}-limit`))).toBeGreaterThan(0);
      expect(response.headers.get(`anthropic-ratelimit-${kind}-remaining`)).toMatch(/^\d+$/);
      expect(response.headers.get(`anthropic-ratelimit-${kind}-reset`)).toMatch(/Z$/);
    }
    const record = sim.requests[sim.requests.length - 1]!;
    expect(record.usage).toEqual({ input: 17, output: DEFAULT_COMPLETION_TOKENS });
    expect(record.headers['anthropic-version']).toMatch(/^\d{4}-\d\d-\d\d$/);
    expect(record.body).toMatchObject({ model: 'claude-sonnet-4-6', max_tokens: 1024 });
  });

  it('streams the documented event sequence, one text delta per word (SDK)', async () => {
    const params = { model: 'claude-haiku-4-5', max_tokens: 1024, messages: [{ role: 'user' as const, content: 'Stream me something [sim:tokens=10]' }] };
    const stream = client.messages.stream(params);
    const texts: string[] = [];
    const types: string[] = [];
    stream.on('text', (t) => texts.push(t));
    stream.on('streamEvent', (e) => types.push(e.type));
    const final = await stream.finalMessage();
    const plan = planMessage(params);
    if (plan.kind !== 'text') throw new Error('expected a text plan');
    expect(texts).toHaveLength(10);
    expect(texts.join('')).toBe(plan.text);
    expect(types).toEqual([
      'message_start',
      'content_block_start',
      ...Array<string>(10).fill('content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(final.content).toEqual([{ type: 'text', text: plan.text }]);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.input_tokens).toBe(countInputTokens(params));
    expect(final.usage.output_tokens).toBe(10);
    expect(sim.requests[sim.requests.length - 1]!.usage).toEqual({ input: countInputTokens(params), output: 10 });
  });

  it('frames the stream exactly: event and data lines, ping after the first block start, usage in message_start and message_delta', async () => {
    const res = await post({ model: 'm', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'Hola, ¿qué tal? [sim:tokens=9]' }] });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('request-id')).toMatch(/^req_01/);
    expect(res.headers.get('anthropic-ratelimit-tokens-remaining')).toMatch(/^\d+$/);
    const events = parseSse(await res.text());
    expect(events.map((e) => e.event)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      ...Array<string>(9).fill('content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const start = events[0]!.data.message as Record<string, unknown>;
    expect(start).toMatchObject({ type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, stop_sequence: null });
    expect(start.usage).toMatchObject({ input_tokens: expect.any(Number), output_tokens: 1 });
    expect(events[1]!.data).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    const deltas = events.slice(3, 12).map((e) => (e.data.delta as { text: string }).text);
    expect(deltas[0]).toBe('Hello');
    expect(deltas[1]).toBe(' from');
    expect(deltas.join('')).toContain('Hola, ¿qué tal?');
    expect(events[13]!.data).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: {
        input_tokens: (start.usage as { input_tokens: number }).input_tokens,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        output_tokens: 9,
      },
    });
  });

  it('the gateway’s Anthropic decoder reads the stream and sees the usage the simulator recorded', async () => {
    const res = await post({
      model: 'm',
      max_tokens: 100,
      stream: true,
      system: [{ type: 'text', text: 'Be kind.' }],
      messages: [{ role: 'user', content: 'decode me [sim:tokens=12]' }],
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    const decoder = new AnthropicStreamDecoder();
    const events: StreamEvent[] = [];
    for (let i = 0; i < bytes.length; i += 5) events.push(...decoder.push(bytes.subarray(i, i + 5)));
    events.push(...decoder.end());
    const record = sim.requests[sim.requests.length - 1]!;
    expect(events[0]).toMatchObject({ type: 'start', model: 'm' });
    expect(events.filter((e) => e.type === 'text')).toHaveLength(12);
    expect(events.slice(-2)).toEqual([
      { type: 'finish', reason: 'stop' },
      { type: 'usage', usage: { inputTokens: record.usage!.input, outputTokens: record.usage!.output, cachedInputTokens: 0, reasoningTokens: 0 } },
    ]);
    expect(record.usage).toEqual({ input: Math.ceil((8 + 25) / 4) + 6, output: 12 });
  });

  it('truncates at max_tokens with stop_reason max_tokens, streamed or not', async () => {
    const params = { model: 'm', max_tokens: 5, messages: [{ role: 'user' as const, content: 'long answer please' }] };
    const whole = await client.messages.create(params);
    expect(whole.stop_reason).toBe('max_tokens');
    expect(whole.usage.output_tokens).toBe(5);
    expect((whole.content[0] as { text: string }).text.split(' ')).toHaveLength(5);
    const streamed = await client.messages.stream(params).finalMessage();
    expect(streamed.stop_reason).toBe('max_tokens');
    expect(streamed.content).toEqual(whole.content);
  });

  it('calls the first declared tool on [sim:tool] (SDK, non-stream)', async () => {
    const params = {
      model: 'claude-sonnet-4-6',
      max_tokens: 1024,
      tools: [WEATHER_TOOL, { name: 'other', input_schema: { type: 'object' as const } }],
      messages: [{ role: 'user' as const, content: 'What is the weather in Paris? [sim:tool]' }],
    };
    const msg = await client.messages.create(params);
    expect(msg.stop_reason).toBe('tool_use');
    expect(msg.content).toHaveLength(1);
    const call = msg.content[0] as Anthropic.ToolUseBlock;
    expect(call.type).toBe('tool_use');
    expect(call.id).toMatch(/^toolu_01[A-Za-z0-9]{22}$/);
    expect(call.name).toBe('get_weather');
    expect(call.input).toEqual({ echo: 'What is the weather in Paris? [sim:tool]' });
    expect(msg.usage).toMatchObject({ input_tokens: countInputTokens(params), output_tokens: TOOL_CALL_OUTPUT_TOKENS });
  });

  it('streams a tool call with its input JSON in several pieces (SDK and raw)', async () => {
    const params = {
      model: 'claude-sonnet-4-6',
      max_tokens: 1024,
      stream: true as const,
      tools: [WEATHER_TOOL],
      messages: [{ role: 'user' as const, content: 'Wetter in München? 🌦 [sim:tool]' }],
    };
    const { stream: _s, ...nonStream } = params;
    const final = await client.messages.stream(nonStream).finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content).toEqual([
      { type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'get_weather', input: { echo: 'Wetter in München? 🌦 [sim:tool]' } },
    ]);
    expect(final.usage.output_tokens).toBe(TOOL_CALL_OUTPUT_TOKENS);

    const events = parseSse(await (await post(params)).text());
    expect(events.map((e) => e.event).slice(0, 3)).toEqual(['message_start', 'content_block_start', 'ping']);
    expect(events[1]!.data.content_block).toMatchObject({ type: 'tool_use', name: 'get_weather', input: {} });
    const pieces = events.filter((e) => e.event === 'content_block_delta').map((e) => e.data.delta as { type: string; partial_json: string });
    for (const p of pieces) expect(p.type).toBe('input_json_delta');
    expect(pieces.filter((p) => p.partial_json !== '').length).toBeGreaterThanOrEqual(2);
    expect(JSON.parse(pieces.map((p) => p.partial_json).join(''))).toEqual({ echo: 'Wetter in München? 🌦 [sim:tool]' });
    expect(events[events.length - 2]!.data).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: { output_tokens: TOOL_CALL_OUTPUT_TOKENS } });
  });

  it('answers a tool result turn with the echo of the result', async () => {
    const msg = await client.messages.create({
      model: 'm',
      max_tokens: 100,
      tools: [WEATHER_TOOL],
      messages: [
        { role: 'user', content: 'Weather in Paris? [sim:tool]' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_01abc', name: 'get_weather', input: { location: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01abc', content: '21 degrees and sunny' }] },
      ],
    });
    expect(msg.stop_reason).toBe('end_turn');
    expect((msg.content[0] as { text: string }).text.startsWith(`${SIM_GREETING} 21 degrees and sunny`)).toBe(true);
  });

  it('requires x-api-key: 401 authentication_error when missing or wrong', async () => {
    const missing = await fetch(`${sim.url}/v1/messages`, {
      method: 'POST',
      headers: { 'anthropic-version': VERSION, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(missing.status).toBe(401);
    expect(missing.headers.get('request-id')).toMatch(/^req_01/);
    const body = (await missing.json()) as Record<string, unknown>;
    expect(body).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: 'x-api-key header is required' },
      request_id: missing.headers.get('request-id'),
    });

    const wrong = new Anthropic({ apiKey: 'sk-ant-wrong', baseURL: sim.url, maxRetries: 0 });
    const err = await wrong.messages.create({ model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((err as InstanceType<typeof Anthropic.AuthenticationError>).type).toBe('authentication_error');
    expect((err as InstanceType<typeof Anthropic.AuthenticationError>).requestID).toMatch(/^req_01/);
  });

  it('accepts the key as x-api-key or as a bearer token, as the SDK sends it', async () => {
    const body = JSON.stringify({ model: 'm', max_tokens: 3, messages: [{ role: 'user', content: 'x' }] });
    const viaHeader = await fetch(`${sim.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': API_KEY, 'anthropic-version': VERSION }, body });
    expect(viaHeader.status).toBe(200);
    const viaBearer = await fetch(`${sim.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'anthropic-version': VERSION },
      body,
    });
    expect(viaBearer.status).toBe(200);
    const wrongBearer = await fetch(`${sim.url}/v1/messages`, {
      method: 'POST',
      headers: { authorization: 'Bearer nope', 'anthropic-version': VERSION },
      body,
    });
    expect(wrongBearer.status).toBe(401);
    expect(await wrongBearer.json()).toMatchObject({ error: { type: 'authentication_error', message: 'invalid x-api-key' } });
    const refused = await fetch(`${sim.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': API_KEY, 'anthropic-version': VERSION, 'x-sim-reject-key': '1' },
      body,
    });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { type: 'authentication_error', message: 'invalid x-api-key' } });
  });

  it('requires a well-formed anthropic-version header', async () => {
    const body = { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] };
    const none = await fetch(`${sim.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': API_KEY }, body: JSON.stringify(body) });
    expect(none.status).toBe(400);
    expect(await none.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' } });
    const bad = await post(body, { 'anthropic-version': 'latest' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
    const models = await fetch(`${sim.url}/v1/models`, { headers: { 'x-api-key': API_KEY } });
    expect(models.status).toBe(400);
  });

  it.each([
    [{ model: 'm', messages: [{ role: 'user', content: 'x' }] }, 'max_tokens: Field required'],
    [{ model: 'm', max_tokens: 0, messages: [{ role: 'user', content: 'x' }] }, 'max_tokens: Input should be greater than or equal to 1'],
    [{ model: 'm', max_tokens: 2.5, messages: [{ role: 'user', content: 'x' }] }, 'max_tokens: Input should be a valid integer'],
    [{ max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, 'model: Field required'],
    [{ model: 'm', max_tokens: 5 }, 'messages: Field required'],
    [{ model: 'm', max_tokens: 5, messages: [] }, 'messages: at least one message is required'],
    [{ model: 'm', max_tokens: 5, messages: [{ role: 'system', content: 'x' }] }, "messages.0.role: Input should be 'user' or 'assistant'"],
    [{ model: 'm', max_tokens: 5, messages: [{ role: 'user' }] }, 'messages.0.content: Field required'],
    [
      { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: '' }] },
      'messages.0: all messages must have non-empty content except for the optional final assistant message',
    ],
    [{ model: 'm', max_tokens: 5, stream: 'yes', messages: [{ role: 'user', content: 'x' }] }, 'stream: Input should be a valid boolean'],
    ['{"model": "m", "max_tokens": 5, "messages": [', 'There was an error parsing the body of your request. Please send a valid JSON body.'],
  ])('refuses %j with 400: %s', async (body, message) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ type: 'error', error: { type: 'invalid_request_error', message }, request_id: res.headers.get('request-id') });
    expect(sim.requests[sim.requests.length - 1]!.usage).toBeUndefined();
  });

  it('accepts an empty final assistant turn (prefill)', async () => {
    const res = await post({
      model: 'm',
      max_tokens: 5,
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: '' },
      ],
    });
    expect(res.status).toBe(200);
  });

  it('injects failures with x-sim-fail: 429 with retry-after, 529 overloaded, 500 api_error', async () => {
    const body = { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] };
    const r429 = await post(body, { 'x-sim-fail': '429' });
    expect(r429.status).toBe(429);
    expect(r429.headers.get('retry-after')).toBe('1');
    expect(r429.headers.get('anthropic-ratelimit-requests-remaining')).toBe('0');
    expect(await r429.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });

    const r500 = await post(body, { 'x-sim-fail': '500' });
    expect(r500.status).toBe(500);
    expect(r500.headers.get('retry-after')).toBeNull();
    expect(await r500.json()).toMatchObject({ error: { type: 'api_error', message: 'Internal server error' } });

    const err = await client.messages.create(body as Anthropic.MessageCreateParamsNonStreaming, { headers: { 'x-sim-fail': '529' } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Anthropic.InternalServerError);
    const apiErr = err as InstanceType<typeof Anthropic.APIError>;
    expect(apiErr.status).toBe(529);
    expect(apiErr.type).toBe('overloaded_error');
    expect(apiErr.error).toMatchObject({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });

    const rateErr = await client.messages.create(body as Anthropic.MessageCreateParamsNonStreaming, { headers: { 'x-sim-fail': '429' } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(rateErr).toBeInstanceOf(Anthropic.RateLimitError);
  });

  it('lists models in pages the SDK can follow, and retrieves one', async () => {
    const ids: string[] = [];
    for await (const m of client.models.list({ limit: 4 })) {
      expect(m.type).toBe('model');
      expect(typeof m.display_name).toBe('string');
      expect(m.created_at).toMatch(/^\d{4}-\d\d-\d\dT/);
      ids.push(m.id);
    }
    expect(ids).toEqual(SIM_MODELS.map((m) => m.id));
    const one = await client.models.retrieve('claude-sonnet-4-5-20250929');
    expect(one).toMatchObject({ type: 'model', id: 'claude-sonnet-4-5-20250929', display_name: 'Claude Sonnet 4.5' });
    const missing = await get('/v1/models/claude-nope');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });

  it('pages the model list with limit, after_id and before_id', () => {
    const ids = SIM_MODELS.map((m) => m.id);
    expect(modelsPage(new URLSearchParams('limit=2'))).toMatchObject({ has_more: true, first_id: ids[0], last_id: ids[1] });
    expect(modelsPage(new URLSearchParams(`limit=2&after_id=${ids[3]}`))).toMatchObject({ has_more: false, first_id: ids[4], last_id: ids[5] });
    expect(modelsPage(new URLSearchParams(`limit=2&before_id=${ids[3]}`))).toMatchObject({ has_more: true, first_id: ids[1], last_id: ids[2] });
    expect(modelsPage(new URLSearchParams(''))).toMatchObject({ has_more: false, first_id: ids[0], last_id: ids[ids.length - 1] });
  });

  it('answers unknown routes with 404 not_found_error', async () => {
    const res = await post({}, {}, '/v1/complete');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    expect((await get('/v1/messages')).status).toBe(404);
  });

  it('drops the connection mid-stream with x-sim-fail: midstream; the SDK reports an error', async () => {
    const params = { model: 'm', max_tokens: 100, messages: [{ role: 'user' as const, content: 'x [sim:tokens=20]' }] };
    const err = await client.messages
      .stream(params, { headers: { 'x-sim-fail': 'midstream' } })
      .finalMessage()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(Error);

    const raw = await post({ ...params, stream: true }, { 'x-sim-fail': 'midstream' }).then(
      async (r) => {
        const reader = r.body!.getReader();
        let text = '';
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            text += Buffer.from(value).toString('utf8');
          }
        } catch {
          // the connection was destroyed
        }
        return text;
      },
      () => '',
    );
    expect(raw).toContain('event: message_start');
    expect(raw).not.toContain('event: message_stop');
  });

  it('resets the connection with x-sim-fail: reset and hangs with x-sim-fail: hang', async () => {
    const body = JSON.stringify({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
    const headers = { 'x-api-key': API_KEY, 'anthropic-version': VERSION };
    await expect(fetch(`${sim.url}/v1/messages`, { method: 'POST', headers: { ...headers, 'x-sim-fail': 'reset' }, body })).rejects.toThrow();

    const ac = new AbortController();
    const outcome = fetch(`${sim.url}/v1/messages`, { method: 'POST', signal: ac.signal, headers: { ...headers, 'x-sim-fail': 'hang' }, body }).then(
      () => 'answered',
      () => 'aborted',
    );
    expect(await Promise.race([outcome, new Promise<string>((r) => setTimeout(() => r('pending'), 150))])).toBe('pending');
    ac.abort();
    expect(await outcome).toBe('aborted');
  });

  it('honours x-sim-latency-ms', async () => {
    const t = Date.now();
    const res = await post({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }, { 'x-sim-latency-ms': '120' });
    expect(res.status).toBe(200);
    await res.json();
    expect(Date.now() - t).toBeGreaterThanOrEqual(110);
  });
});

describe('Anthropic simulator options', () => {
  it('paces streams with tokensPerSecond', async () => {
    const sim = await startAnthropicSimulator({ tokensPerSecond: 100 });
    try {
      const client = new Anthropic({ apiKey: 'any', baseURL: sim.url, maxRetries: 0 });
      const t0 = Date.now();
      let first = 0;
      const stream = client.messages.stream({ model: 'm', max_tokens: 100, messages: [{ role: 'user', content: 'pace [sim:tokens=30]' }] });
      stream.on('text', () => {
        if (first === 0) first = Date.now() - t0;
      });
      const final = await stream.finalMessage();
      const total = Date.now() - t0;
      expect(final.usage.output_tokens).toBe(30);
      // 30 words at 100/s take about 300 ms; the first arrives after about 10 ms.
      expect(total).toBeGreaterThanOrEqual(280);
      expect(first).toBeLessThan(total / 2);
    } finally {
      await sim.close();
    }
  });

  it('injects failEvery failures with failStatus, works without an api key, and applies latencyMs', async () => {
    const sim = await startAnthropicSimulator({ failEvery: 2, failStatus: 529, latencyMs: 60 });
    try {
      const client = new Anthropic({ apiKey: 'anything', baseURL: sim.url, maxRetries: 0 });
      const params = { model: 'm', max_tokens: 5, messages: [{ role: 'user' as const, content: 'x' }] };
      const t = Date.now();
      await expect(client.messages.create(params)).resolves.toMatchObject({ type: 'message' });
      expect(Date.now() - t).toBeGreaterThanOrEqual(50);
      await expect(client.messages.create(params)).rejects.toMatchObject({ status: 529 });
      await expect(client.messages.create(params)).resolves.toMatchObject({ type: 'message' });
      expect(sim.requestCount()).toBe(3);
    } finally {
      await sim.close();
    }
  });
});
