import { Ollama, type ChatResponse, type Message, type Tool } from 'ollama';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { countPromptTokens, DEFAULT_COMPLETION_TOKENS, echoFragment, planCompletion, SIM_GREETING, TOOL_CALL_TOKENS } from '../openai/completion.js';
import { BUSY_MESSAGE, MODEL_ERROR_MESSAGE, SIM_MODELS, SIM_VERSION, startOllamaSimulator, type OllamaSimulator } from './server.js';

const WEATHER_TOOL: Tool = {
  type: 'function',
  function: {
    name: 'get_current_weather',
    description: 'Get the current weather for a location',
    parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
  },
};

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const ndjson = (text: string) =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('Ollama simulator', () => {
  let sim: OllamaSimulator;
  let client: Ollama;

  beforeAll(async () => {
    sim = await startOllamaSimulator({ parallel: 4 });
    client = new Ollama({ host: sim.url });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('answers a non-stream chat in Ollama shape (SDK)', async () => {
    const messages: Message[] = [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'What is the capital of France?' },
    ];
    const res = await client.chat({ model: 'llama3.2', messages, stream: false });
    expect(res.model).toBe('llama3.2');
    expect(Math.abs(Date.parse(String(res.created_at)) - Date.now())).toBeLessThan(10_000);
    expect(res.done).toBe(true);
    expect(res.done_reason).toBe('stop');
    expect(res.message.role).toBe('assistant');
    expect(res.message.content.startsWith(`${SIM_GREETING} What is the capital of France?`)).toBe(true);
    expect(res.message.content.split(' ')).toHaveLength(DEFAULT_COMPLETION_TOKENS);
    expect(res.message.content).toBe(planCompletion({ messages }).content);
    // ceil((14 + 30) / 4) + 3 * 2: the system prompt is one of the messages.
    expect(res.prompt_eval_count).toBe(17);
    expect(res.eval_count).toBe(DEFAULT_COMPLETION_TOKENS);
    for (const d of [res.total_duration, res.load_duration, res.prompt_eval_duration, res.eval_duration]) {
      expect(Number.isInteger(d) && d >= 0).toBe(true);
    }
    const record = sim.requests.at(-1)!;
    expect(record).toMatchObject({ method: 'POST', path: '/api/chat', usage: { input: 17, output: DEFAULT_COMPLETION_TOKENS } });
    expect((record.body as { stream: boolean }).stream).toBe(false);
  });

  it('streams one word per line by default, the last line done with counts (raw NDJSON)', async () => {
    const res = await post(`${sim.url}/api/chat`, { model: 'llama3.2:latest', messages: [{ role: 'user', content: 'Stream me [sim:tokens=9]' }] });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const raw = await res.text();
    expect(raw.endsWith('}\n')).toBe(true);
    const lines = ndjson(raw);
    expect(lines).toHaveLength(10);
    const words = lines.slice(0, 9).map((l) => {
      expect(l).toMatchObject({ model: 'llama3.2:latest', done: false, message: { role: 'assistant' } });
      return (l.message as { content: string }).content;
    });
    expect(words[0]).toBe('Hello');
    expect(words.slice(1).every((w) => w.startsWith(' ') && !w.slice(1).includes(' '))).toBe(true);
    expect(words.join('')).toBe(planCompletion({ messages: [{ role: 'user', content: 'Stream me [sim:tokens=9]' }] }).content);
    const last = lines[9]!;
    expect(last).toMatchObject({ done: true, done_reason: 'stop', message: { role: 'assistant', content: '' }, eval_count: 9 });
    expect(last.prompt_eval_count).toBe(countPromptTokens([{ content: 'Stream me [sim:tokens=9]' }]));
    expect(sim.requests.at(-1)!.usage).toEqual({ input: last.prompt_eval_count, output: 9 });
  });

  it('streams through the SDK: pieces concatenate to the full answer', async () => {
    const messages: Message[] = [{ role: 'user', content: 'Tell me a story' }];
    const stream = await client.chat({ model: 'qwen3:8b', messages, stream: true });
    const chunks: ChatResponse[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks).toHaveLength(DEFAULT_COMPLETION_TOKENS + 1);
    expect(chunks.map((c) => c.message.content).join('')).toBe(planCompletion({ messages }).content);
    expect(chunks.at(-1)).toMatchObject({
      done: true,
      done_reason: 'stop',
      eval_count: DEFAULT_COMPLETION_TOKENS,
      prompt_eval_count: countPromptTokens(messages),
    });
  });

  it('options.num_predict truncates: done_reason length', async () => {
    const res = await client.chat({
      model: 'llama3.2',
      messages: [{ role: 'user', content: 'Long one [sim:tokens=50]' }],
      stream: false,
      options: { num_predict: 7 },
    });
    expect(res.done_reason).toBe('length');
    expect(res.eval_count).toBe(7);
    expect(res.message.content.split(' ')).toHaveLength(7);
    const unlimited = await client.chat({
      model: 'llama3.2',
      messages: [{ role: 'user', content: 'x [sim:tokens=5]' }],
      stream: false,
      options: { num_predict: -1 },
    });
    expect(unlimited.done_reason).toBe('stop');
    expect(unlimited.eval_count).toBe(5);
  });

  it('a tool call (SDK, non-stream): the first declared tool with {"echo": ...}, 12 output tokens', async () => {
    const text = 'What is the weather in Paris? [sim:tool]';
    const res = await client.chat({
      model: 'llama3.2',
      messages: [{ role: 'user', content: text }],
      tools: [WEATHER_TOOL, { ...WEATHER_TOOL, function: { ...WEATHER_TOOL.function, name: 'other' } }],
      stream: false,
    });
    expect(res.message.content).toBe('');
    expect(res.message.tool_calls).toEqual([{ function: { name: 'get_current_weather', arguments: { echo: echoFragment(text) } } }]);
    expect(res.done_reason).toBe('stop');
    expect(res.eval_count).toBe(TOOL_CALL_TOKENS);
    expect(sim.requests.at(-1)!.usage!.output).toBe(TOOL_CALL_TOKENS);
  });

  it('a tool call (SDK, stream): one line with the whole call, then done', async () => {
    const text = 'Weather? [sim:tool]';
    const stream = await client.chat({ model: 'llama3.2', messages: [{ role: 'user', content: text }], tools: [WEATHER_TOOL], stream: true });
    const chunks: ChatResponse[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks).toHaveLength(2);
    expect(chunks[0]!.message.tool_calls).toEqual([{ function: { name: 'get_current_weather', arguments: { echo: echoFragment(text) } } }]);
    expect(chunks[1]).toMatchObject({ done: true, done_reason: 'stop', eval_count: TOOL_CALL_TOKENS });
  });

  it('[sim:tool] without tools is plain text; a tool result answers with text echoing the result', async () => {
    const plain = await client.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'no tools [sim:tool]' }], stream: false });
    expect(plain.message.tool_calls).toBeUndefined();
    expect(plain.message.content.startsWith(`${SIM_GREETING} no tools [sim:tool]`)).toBe(true);

    const followUp = await client.chat({
      model: 'llama3.2',
      messages: [
        { role: 'user', content: 'Weather? [sim:tool]' },
        { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_current_weather', arguments: { echo: 'Weather? [sim:tool]' } } }] },
        { role: 'tool', tool_name: 'get_current_weather', content: '22 degrees and sunny' },
      ],
      tools: [WEATHER_TOOL],
      stream: false,
    });
    expect(followUp.message.tool_calls).toBeUndefined();
    expect(followUp.message.content.startsWith(`${SIM_GREETING} 22 degrees and sunny`)).toBe(true);
  });

  it('an empty conversation loads the model', async () => {
    const res = await post(`${sim.url}/api/chat`, { model: 'llama3.2', messages: [] });
    expect(await res.json()).toMatchObject({ model: 'llama3.2', message: { role: 'assistant', content: '' }, done_reason: 'load', done: true });
  });

  it('lists models (SDK list) and reports a version (SDK version)', async () => {
    const list = await client.list();
    expect(list.models.map((m) => m.name)).toEqual([...SIM_MODELS]);
    for (const m of list.models) {
      expect(m.model).toBe(m.name);
      expect(m.digest).toMatch(/^[0-9a-f]{64}$/);
      expect(m.size).toBeGreaterThan(0);
      expect(m.details).toMatchObject({ format: 'gguf', quantization_level: 'Q4_K_M' });
      expect(Number.isNaN(Date.parse(String(m.modified_at)))).toBe(false);
    }
    expect(await client.version()).toEqual({ version: SIM_VERSION });
  });

  it('an unknown model is a 404 in Ollama words (SDK raises it)', async () => {
    await expect(client.chat({ model: 'llama3.3', messages: [{ role: 'user', content: 'hi' }], stream: false })).rejects.toMatchObject({
      status_code: 404,
      error: 'model "llama3.3" not found, try pulling it first',
    });
    // A tagless name means :latest, which qwen3 does not have installed.
    const res = await post(`${sim.url}/api/chat`, { model: 'qwen3', messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'model "qwen3" not found, try pulling it first' });
  });

  it('bad bodies are 400 with an error message', async () => {
    for (const [body, message] of [
      ['{not json', /invalid/],
      [{ messages: [] }, /model is required/],
      [{ model: 'llama3.2', messages: 'hi' }, /messages/],
      [{ model: 'llama3.2', messages: [{ role: 'user', content: ['x'] }] }, /content/],
      [{ model: 'llama3.2', messages: [{ role: 'user', content: 'x' }], stream: 'yes' }, /stream/],
    ] as const) {
      const res = await post(`${sim.url}/api/chat`, body);
      expect(res.status).toBe(400);
      expect((await res.json()) as { error: string }).toEqual({ error: expect.stringMatching(message) });
    }
  });

  it('unknown routes are a plain-text 404; / says Ollama is running', async () => {
    const res = await fetch(`${sim.url}/v1/chat/completions`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('404 page not found');
    const root = await fetch(`${sim.url}/`);
    expect(await root.text()).toBe('Ollama is running');
  });

  it('x-sim-fail: <status> answers that status; 429 adds retry-after', async () => {
    const res = await post(`${sim.url}/api/chat`, { model: 'llama3.2', messages: [] }, { 'x-sim-fail': '429' });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toEqual({ error: 'too many requests (simulated)' });
    const failing = new Ollama({ host: sim.url, headers: { 'x-sim-fail': '500' } });
    await expect(failing.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'x' }], stream: false })).rejects.toMatchObject({ status_code: 500 });
  });

  it('x-sim-fail: hang never answers; reset drops the connection', async () => {
    await expect(post(`${sim.url}/api/chat`, { model: 'llama3.2' }, { 'x-sim-fail': 'reset' })).rejects.toThrow();
    const hung = fetch(`${sim.url}/api/chat`, { method: 'POST', body: '{}', headers: { 'x-sim-fail': 'hang' }, signal: AbortSignal.timeout(200) });
    await expect(hung).rejects.toThrow(/abort|timeout/i);
  });

  it('x-sim-fail: midstream cuts a stream; the SDK fails instead of finishing', async () => {
    const cut = new Ollama({ host: sim.url, headers: { 'x-sim-fail': 'midstream' } });
    const stream = await cut.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'x [sim:tokens=10]' }], stream: true });
    let text = '';
    const read = async () => {
      for await (const chunk of stream) text += chunk.message.content;
    };
    await expect(read()).rejects.toThrow();
    expect(text.split(' ')).toHaveLength(5);
  });

  it('x-sim-fail: stream-error ends the stream with an error line; the SDK raises its message', async () => {
    const erring = new Ollama({ host: sim.url, headers: { 'x-sim-fail': 'stream-error' } });
    const stream = await erring.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'x [sim:tokens=10]' }], stream: true });
    let text = '';
    const read = async () => {
      for await (const chunk of stream) text += chunk.message.content;
    };
    await expect(read()).rejects.toThrow(MODEL_ERROR_MESSAGE);
    expect(text.split(' ')).toHaveLength(5);
    await expect(erring.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'x' }], stream: false })).rejects.toMatchObject({
      status_code: 500,
      error: MODEL_ERROR_MESSAGE,
    });
  });

  it('x-sim-fail: midstream on a non-stream answer sends half the JSON, then drops the connection', async () => {
    const res = await post(
      `${sim.url}/api/chat`,
      { model: 'llama3.2', messages: [{ role: 'user', content: 'x' }], stream: false },
      { 'x-sim-fail': 'midstream' },
    );
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });

  it('x-sim-latency-ms delays the answer', async () => {
    const t0 = performance.now();
    const res = await post(
      `${sim.url}/api/chat`,
      { model: 'llama3.2', messages: [{ role: 'user', content: 'x' }], stream: false },
      { 'x-sim-latency-ms': '150' },
    );
    expect(res.status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(((await res.json()) as { load_duration: number }).load_duration).toBe(150_000_000);
  });
});

describe('Ollama simulator options', () => {
  let sim: OllamaSimulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it('apiKey: a bearer key is required (an authenticating proxy in front of Ollama)', async () => {
    sim = await startOllamaSimulator({ apiKey: 'proxy-key' });
    await expect(new Ollama({ host: sim.url }).list()).rejects.toMatchObject({ status_code: 401, error: 'unauthorized' });
    const authed = new Ollama({ host: sim.url, headers: { Authorization: 'Bearer proxy-key' } });
    expect((await authed.list()).models.length).toBeGreaterThan(0);
  });

  it('failEvery injects failStatus on every Nth request', async () => {
    sim = await startOllamaSimulator({ failEvery: 2, failStatus: 503 });
    const body = { model: 'llama3.2', messages: [{ role: 'user', content: 'x' }], stream: false };
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await post(`${sim.url}/api/chat`, body)).status);
    expect(statuses).toEqual([200, 503, 200, 503]);
  });

  it('models: only the given models are installed; names without a tag mean :latest', async () => {
    sim = await startOllamaSimulator({ models: ['tinyllama', 'phi3:mini'] });
    const client = new Ollama({ host: sim.url });
    expect((await client.list()).models.map((m) => m.name)).toEqual(['tinyllama:latest', 'phi3:mini']);
    expect((await client.chat({ model: 'tinyllama', messages: [{ role: 'user', content: 'x' }], stream: false })).done).toBe(true);
    await expect(client.chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'x' }], stream: false })).rejects.toMatchObject({ status_code: 404 });
  });

  /** Time from sending to the first NDJSON byte, and to the end of the stream, in ms since `t0`. */
  async function timedStream(url: string, t0: number, content: string, signal?: AbortSignal): Promise<{ first: number; end: number }> {
    const res = await fetch(`${url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'llama3.2', messages: [{ role: 'user', content }] }), signal });
    const reader = res.body!.getReader();
    let first = -1;
    for (;;) {
      const { done } = await reader.read();
      if (first < 0) first = performance.now() - t0;
      if (done) break;
    }
    return { first, end: performance.now() - t0 };
  }

  it('parallel 1: a second chat waits for the first to finish before its first token', async () => {
    // 10 tokens at 50 tokens/s: each answer takes about 200 ms.
    sim = await startOllamaSimulator({ parallel: 1, tokensPerSecond: 50 });
    const t0 = performance.now();
    const a = timedStream(sim.url, t0, 'first [sim:tokens=10]');
    await new Promise((r) => setTimeout(r, 30));
    const b = timedStream(sim.url, t0, 'second [sim:tokens=10]');
    await new Promise((r) => setTimeout(r, 30));
    expect(sim.inFlight()).toBe(1);
    expect(sim.queued()).toBe(1);
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.first).toBeLessThan(150);
    // Headers and the first line only come once the first answer has ended.
    expect(rb.first).toBeGreaterThanOrEqual(ra.end - 25);
    expect(rb.end - rb.first).toBeGreaterThanOrEqual(150);
    expect(sim.inFlight()).toBe(0);
    expect(sim.queued()).toBe(0);
  });

  it('parallel 2: two chats run at once', async () => {
    sim = await startOllamaSimulator({ parallel: 2, tokensPerSecond: 50 });
    const t0 = performance.now();
    const [ra, rb] = await Promise.all([timedStream(sim.url, t0, 'a [sim:tokens=10]'), timedStream(sim.url, t0, 'b [sim:tokens=10]')]);
    expect(rb.first).toBeLessThan(ra.end - 100);
    expect(ra.first).toBeLessThan(rb.end - 100);
  });

  /** Polls until `cond` holds, for up to 2 s: a fixed sleep is too short on a busy machine. */
  async function until(cond: () => boolean): Promise<void> {
    const deadline = Date.now() + 2000;
    while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  }

  it('beyond maxQueue waiting chats: 503 server busy (SDK raises it)', async () => {
    sim = await startOllamaSimulator({ parallel: 1, maxQueue: 1, tokensPerSecond: 50 });
    const t0 = performance.now();
    // 50 tokens at 50 tokens/s: the first chat holds the slot for about a second.
    const a = timedStream(sim.url, t0, 'a [sim:tokens=50]');
    await until(() => sim?.inFlight() === 1);
    const b = timedStream(sim.url, t0, 'b [sim:tokens=10]');
    await until(() => sim?.queued() === 1);
    expect(sim.queued()).toBe(1);
    await expect(new Ollama({ host: sim.url }).chat({ model: 'llama3.2', messages: [{ role: 'user', content: 'c' }], stream: false })).rejects.toMatchObject({
      status_code: 503,
      error: BUSY_MESSAGE,
    });
    await Promise.all([a, b]);
    // The queue drained: a new chat gets in again.
    expect((await post(`${sim.url}/api/chat`, { model: 'llama3.2', messages: [{ role: 'user', content: 'd [sim:tokens=1]' }], stream: false })).status).toBe(
      200,
    );
  });

  it('a waiting chat whose client goes away leaves the queue', async () => {
    sim = await startOllamaSimulator({ parallel: 1, tokensPerSecond: 50 });
    const t0 = performance.now();
    const a = timedStream(sim.url, t0, 'a [sim:tokens=50]');
    await until(() => sim?.inFlight() === 1);
    const ac = new AbortController();
    const b = timedStream(sim.url, t0, 'b [sim:tokens=10]', ac.signal).catch((e: unknown) => e);
    await until(() => sim?.queued() === 1);
    expect(sim.queued()).toBe(1);
    ac.abort();
    await b;
    await until(() => sim?.queued() === 0);
    expect(sim.queued()).toBe(0);
    await a;
    expect(sim.inFlight()).toBe(0);
  });

  it('tokensPerSecond paces a stream', async () => {
    sim = await startOllamaSimulator({ tokensPerSecond: 100 });
    const t = await timedStream(sim.url, performance.now(), 'x [sim:tokens=20]');
    expect(t.end).toBeGreaterThanOrEqual(180);
  });
});
