import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { countPromptTokens, DEFAULT_COMPLETION_TOKENS, planCompletion, SIM_GREETING, TOOL_CALL_TOKENS } from '../openai/completion.js';
import { DEFAULT_MODEL, startVllmSimulator, type VllmSimulator, type VllmSimulatorOptions } from './server.js';

const user = (content: string): OpenAI.Chat.ChatCompletionMessageParam[] => [{ role: 'user', content }];

const WEATHER_TOOL: OpenAI.Chat.ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
};

function clientFor(sim: VllmSimulator, apiKey = 'unused'): OpenAI {
  return new OpenAI({ apiKey, baseURL: `${sim.url}/v1`, maxRetries: 0 });
}

async function post(sim: VllmSimulator, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(`${sim.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

/** Waits until `check` holds, polling; fails after `ms`. */
async function until(check: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Streamed {
  sentAt: number;
  firstAt: number;
  endAt: number;
  text: string;
  finish: string | null;
  usage: OpenAI.CompletionUsage | undefined;
}

/** Streams a chat; `onStarted` runs once the response headers are in (the request is queued). */
async function streamChat(client: OpenAI, body: Omit<OpenAI.Chat.ChatCompletionCreateParamsStreaming, 'stream'>, onStarted?: () => void): Promise<Streamed> {
  const sentAt = performance.now();
  const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
  onStarted?.();
  let firstAt = 0;
  let text = '';
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | undefined;
  for await (const chunk of stream) {
    if (firstAt === 0) firstAt = performance.now();
    const choice = chunk.choices[0];
    text += choice?.delta.content ?? '';
    if (choice?.finish_reason) finish = choice.finish_reason;
    if (chunk.usage) usage = chunk.usage;
  }
  return { sentAt, firstAt, endAt: performance.now(), text, finish, usage };
}

/** The value of the first sample of `name` whose labels include all of `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

async function scrape(sim: VllmSimulator): Promise<string> {
  const res = await fetch(`${sim.url}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

describe('vLLM simulator: API', () => {
  let sim: VllmSimulator;
  let client: OpenAI;

  beforeAll(async () => {
    sim = await startVllmSimulator({ loraModules: ['sql-lora', 'chat-lora'], maxLoras: 2, loraLoadMs: 20 });
    client = clientFor(sim);
  });
  afterAll(async () => {
    await sim.close();
  });

  it('answers a non-stream chat completion in OpenAI shape (SDK)', async () => {
    const messages = user('What is the capital of France?');
    const r = await client.chat.completions.create({ model: DEFAULT_MODEL, messages });
    const plan = planCompletion({ messages });
    expect(r.object).toBe('chat.completion');
    expect(r.id).toMatch(/^chatcmpl-/);
    expect(r.model).toBe(DEFAULT_MODEL);
    expect(r.choices[0]?.message).toMatchObject({ role: 'assistant', content: plan.content });
    expect(r.choices[0]?.message.content?.startsWith(SIM_GREETING)).toBe(true);
    expect(r.choices[0]?.finish_reason).toBe('stop');
    expect(r.usage).toMatchObject({ prompt_tokens: countPromptTokens(messages), completion_tokens: DEFAULT_COMPLETION_TOKENS });
    const rec = sim.requests.at(-1);
    expect(rec?.usage).toEqual({ input: plan.promptTokens, output: plan.completionTokens });
    expect(rec?.timing?.e2eMs).toBeGreaterThanOrEqual(0);
  });

  it('streams chat.completion.chunk events with a final usage chunk', async () => {
    const messages = user('Count to three [sim:tokens=7]');
    const s = await streamChat(client, { model: DEFAULT_MODEL, messages });
    expect(s.text).toBe(planCompletion({ messages }).content);
    expect(s.text.split(' ')).toHaveLength(7);
    expect(s.finish).toBe('stop');
    expect(s.usage).toMatchObject({ prompt_tokens: countPromptTokens(messages), completion_tokens: 7, total_tokens: countPromptTokens(messages) + 7 });

    const res = await post(sim, { model: DEFAULT_MODEL, messages, stream: true, stream_options: { include_usage: true } });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await res.text()).split('\n\n').filter((e) => e !== '');
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)) as Record<string, unknown>);
    expect(chunks[0]).toMatchObject({ object: 'chat.completion.chunk', choices: [{ delta: { role: 'assistant', content: '' } }] });
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 7 } });
    // As vLLM does, the last token's delta carries the finish reason.
    const lastWord = planCompletion({ messages }).words.at(-1);
    expect(chunks.at(-2)).toMatchObject({ choices: [{ delta: { content: ` ${lastWord}` }, finish_reason: 'stop' }] });
  });

  it('truncates at max_tokens with finish reason length', async () => {
    const r = await client.chat.completions.create({ model: DEFAULT_MODEL, messages: user('hi'), max_tokens: 3 });
    expect(r.choices[0]?.finish_reason).toBe('length');
    expect(r.usage?.completion_tokens).toBe(3);
  });

  it('serves a LoRA adapter as a model, and lists adapters with their parent', async () => {
    const r = await client.chat.completions.create({ model: 'sql-lora', messages: user('SELECT 1') });
    expect(r.model).toBe('sql-lora');
    expect(sim.loadedAdapters()).toContain('sql-lora');
    const models = await client.models.list();
    const byId = new Map(models.data.map((m) => [m.id, m as OpenAI.Models.Model & { parent?: string | null; root?: string }]));
    expect([...byId.keys()]).toEqual([DEFAULT_MODEL, 'sql-lora', 'chat-lora']);
    expect(byId.get(DEFAULT_MODEL)?.parent).toBeNull();
    expect(byId.get('chat-lora')?.parent).toBe(DEFAULT_MODEL);
    expect(byId.get('sql-lora')?.owned_by).toBe('vllm');
  });

  it('answers 404 in vLLM error shape for an unknown model', async () => {
    const err = await client.chat.completions.create({ model: 'gpt-4o', messages: user('hi') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    const e = err as InstanceType<typeof OpenAI.NotFoundError>;
    expect(e.status).toBe(404);
    expect(e.message).toContain('The model `gpt-4o` does not exist.');
    const res = await post(sim, { model: 'nope', messages: user('hi') });
    expect(await res.json()).toEqual({ error: { message: 'The model `nope` does not exist.', type: 'NotFoundError', param: 'model', code: 404 } });
    expect(sim.requests.at(-1)?.usage).toBeUndefined();
  });

  it('answers a tool call when asked with [sim:tool], streamed or not', async () => {
    const messages = user('Weather in Paris? [sim:tool]');
    const r = await client.chat.completions.create({ model: DEFAULT_MODEL, messages, tools: [WEATHER_TOOL] });
    const call = r.choices[0]?.message.tool_calls?.[0];
    expect(r.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.type === 'function' ? call.function.name : undefined).toBe('get_weather');
    expect(r.usage?.completion_tokens).toBe(TOOL_CALL_TOKENS);

    const stream = await client.chat.completions.create({ model: DEFAULT_MODEL, messages, tools: [WEATHER_TOOL], stream: true });
    let name = '';
    let args = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      const tc = chunk.choices[0]?.delta.tool_calls?.[0];
      name += tc?.function?.name ?? '';
      args += tc?.function?.arguments ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe('get_weather');
    expect(JSON.parse(args)).toEqual(JSON.parse(planCompletion({ messages, tools: [WEATHER_TOOL] }).toolCall?.arguments ?? 'null'));
    expect(finish).toBe('tool_calls');
  });

  it('validates requests and answers 400 in vLLM error shape', async () => {
    const res = await post(sim, { model: DEFAULT_MODEL });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: 'BadRequestError', param: 'messages', code: 400 } });
    const bad = await post(sim, '{not json');
    expect(bad.status).toBe(400);
  });

  it('serves /health, /version, and FastAPI-style 404 and 405', async () => {
    expect((await fetch(`${sim.url}/health`)).status).toBe(200);
    expect(await (await fetch(`${sim.url}/version`)).json()).toHaveProperty('version');
    const missing = await fetch(`${sim.url}/v1/nothing`);
    expect([missing.status, await missing.json()]).toEqual([404, { detail: 'Not Found' }]);
    expect((await fetch(`${sim.url}/v1/chat/completions`)).status).toBe(405);
  });

  it('counts only /v1 requests, not scrapes and health checks', async () => {
    const before = sim.requestCount();
    const scrapes = sim.scrapeCount();
    await scrape(sim);
    await fetch(`${sim.url}/health`);
    await client.models.list();
    expect(sim.requestCount()).toBe(before + 1);
    expect(sim.scrapeCount()).toBe(scrapes + 1);
  });

  it('exposes the metrics a picker reads, labelled with the base model', async () => {
    const text = await scrape(sim);
    const labels = { model_name: DEFAULT_MODEL, engine: '0' };
    for (const name of ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc', 'vllm:num_preemptions_total']) {
      expect(sample(text, name, labels), name).toBe(0);
    }
    expect(sample(text, 'vllm:prompt_tokens_total', labels)).toBeGreaterThan(0);
    expect(sample(text, 'vllm:generation_tokens_total', labels)).toBeGreaterThan(0);
    expect(sample(text, 'vllm:time_to_first_token_seconds_count', labels)).toBeGreaterThan(0);
    expect(sample(text, 'vllm:e2e_request_latency_seconds_bucket', { ...labels, le: '+Inf' })).toBeGreaterThan(0);
    const info = sample(text, 'vllm:lora_requests_info', { max_lora: '2', running_lora_adapters: '', waiting_lora_adapters: '' });
    // Valued with the time it was current, in seconds.
    expect(Math.abs((info ?? 0) - Date.now() / 1000)).toBeLessThan(60);
  });
});

describe('vLLM simulator: scheduling', () => {
  const sims: VllmSimulator[] = [];
  const start = async (o: VllmSimulatorOptions): Promise<VllmSimulator> => {
    const s = await startVllmSimulator(o);
    sims.push(s);
    return s;
  };
  afterEach(async () => {
    await Promise.all(sims.splice(0).map((s) => s.close()));
  });

  it('with one slot, the second request waits for the first to finish', async () => {
    const sim = await start({ maxNumSeqs: 1, tokensPerSecond: 40 });
    const client = clientFor(sim);
    let firstQueued!: () => void;
    const queued = new Promise<void>((r) => (firstQueued = r));
    const a = streamChat(client, { model: DEFAULT_MODEL, messages: user('first [sim:tokens=16]') }, firstQueued);
    await queued;
    const b = await streamChat(client, { model: DEFAULT_MODEL, messages: user('second [sim:tokens=4]') });
    const first = await a;
    // 16 tokens at 40/s: 15 steps of 25 ms after the first token.
    expect(first.endAt - first.firstAt).toBeGreaterThanOrEqual(330);
    // The second's first token comes after the first's last one, so its TTFT holds that whole decode.
    expect(b.firstAt).toBeGreaterThanOrEqual(first.endAt - 25);
    expect(b.firstAt - b.sentAt).toBeGreaterThanOrEqual(250);
    expect(sim.requests[1]?.timing?.queueMs).toBeGreaterThanOrEqual(250);
  });

  it('reports running and waiting in /metrics while requests are in flight', async () => {
    const sim = await start({ maxNumSeqs: 1, tokensPerSecond: 20 });
    const labels = { model_name: DEFAULT_MODEL };
    const body = { model: DEFAULT_MODEL, messages: user('slow [sim:tokens=20]'), max_tokens: 20 };
    const a = post(sim, body).then((r) => r.json());
    await until(() => sim.running() === 1, 5000, 'first running');
    const b = post(sim, body).then((r) => r.json());
    let seen = '';
    await until(
      async () => {
        seen = await scrape(sim);
        return sample(seen, 'vllm:num_requests_running', labels) === 1 && sample(seen, 'vllm:num_requests_waiting', labels) === 1;
      },
      5000,
      'running=1 waiting=1 in /metrics',
    );
    expect(sample(seen, 'vllm:kv_cache_usage_perc', labels)).toBeGreaterThan(0);
    expect(seen).not.toContain('vllm:lora_requests_info');
    await Promise.all([a, b]);
    const after = await scrape(sim);
    expect(sample(after, 'vllm:num_requests_running', labels)).toBe(0);
    expect(sample(after, 'vllm:num_requests_waiting', labels)).toBe(0);
    expect(sample(after, 'vllm:e2e_request_latency_seconds_count', labels)).toBe(2);
    expect(sample(after, 'vllm:generation_tokens_total', labels)).toBe(40);
    // The second waited about a whole request (20 tokens at 20/s: 0.95 s) before its first token.
    expect(sample(after, 'vllm:time_to_first_token_seconds_sum', labels)).toBeGreaterThan(0.7);
  });

  it('makes a request wait while the KV cache lacks room, with slots to spare', async () => {
    const sim = await start({ maxNumSeqs: 4, kvCacheTokens: 100, tokensPerSecond: 100 });
    const client = clientFor(sim);
    const messages = user('kv [sim:tokens=60]');
    const need = countPromptTokens(messages) + 60;
    let firstQueued!: () => void;
    const queued = new Promise<void>((r) => (firstQueued = r));
    const a = streamChat(client, { model: DEFAULT_MODEL, messages }, firstQueued);
    await queued;
    const b = streamChat(client, { model: DEFAULT_MODEL, messages });
    await until(() => sim.waiting() === 1, 5000, 'second waiting');
    expect(sim.running()).toBe(1);
    expect(sim.kvCacheUsage()).toBeCloseTo(need / 100, 5);
    const [first, second] = await Promise.all([a, b]);
    expect(second.firstAt).toBeGreaterThanOrEqual(first.endAt - 25);
    expect(second.text).toBe(first.text);
    expect(sim.kvCacheUsage()).toBe(0);
  });

  it('treats the KV cache as the context length', async () => {
    const sim = await start({ kvCacheTokens: 64 });
    const client = clientFor(sim);
    const tooLong = await client.chat.completions.create({ model: DEFAULT_MODEL, messages: user('x'.repeat(400)) }).catch((e: unknown) => e);
    expect(tooLong).toBeInstanceOf(OpenAI.BadRequestError);
    expect((tooLong as Error).message).toContain('maximum context length is 64 tokens');
    const tooMuch = await client.chat.completions.create({ model: DEFAULT_MODEL, messages: user('hi'), max_tokens: 100 }).catch((e: unknown) => e);
    expect(tooMuch).toBeInstanceOf(OpenAI.BadRequestError);
    // Without max_tokens the answer stops where the context ends.
    const messages = user('long [sim:tokens=100]');
    const cut = await client.chat.completions.create({ model: DEFAULT_MODEL, messages });
    expect(cut.choices[0]?.finish_reason).toBe('length');
    expect(cut.usage?.completion_tokens).toBe(64 - countPromptTokens(messages));
  });

  it('loads an adapter before its first token, and evicts the least recently used', async () => {
    const sim = await start({ loraModules: ['a', 'b'], maxLoras: 1, loraLoadMs: 400 });
    const client = clientFor(sim);
    const ask = async (model: string): Promise<number> => {
      await client.chat.completions.create({ model, messages: user('hi') });
      return sim.requests.at(-1)?.timing?.ttftMs ?? -1;
    };
    expect(await ask('a')).toBeGreaterThanOrEqual(390);
    expect(sim.loadedAdapters()).toEqual(['a']);
    expect(await ask('a')).toBeLessThan(300);
    expect(await ask(DEFAULT_MODEL)).toBeLessThan(300);
    expect(await ask('b')).toBeGreaterThanOrEqual(390);
    expect(sim.loadedAdapters()).toEqual(['b']);
    expect(await ask('a')).toBeGreaterThanOrEqual(390);
  });

  it('never evicts an adapter in use: its rival waits while base-model requests pass', async () => {
    const sim = await start({ loraModules: ['a', 'b'], maxLoras: 1, loraLoadMs: 100, tokensPerSecond: 20 });
    const client = clientFor(sim);
    let aQueued!: () => void;
    const queued = new Promise<void>((r) => (aQueued = r));
    const a = streamChat(client, { model: 'a', messages: user('[sim:tokens=16]') }, aQueued);
    await queued;
    const b = streamChat(client, { model: 'b', messages: user('[sim:tokens=2]') });
    await until(() => sim.waiting() === 1, 5000, 'b waiting');
    let info = '';
    await until(
      async () => {
        info = await scrape(sim);
        return sample(info, 'vllm:lora_requests_info', { running_lora_adapters: 'a', waiting_lora_adapters: 'b' }) !== undefined;
      },
      5000,
      'lora_requests_info with a running and b waiting',
    );
    const base = await client.chat.completions.create({ model: DEFAULT_MODEL, messages: user('[sim:tokens=1]') });
    expect(base.choices[0]?.finish_reason).toBe('stop');
    expect(sim.waiting()).toBe(1);
    expect(sim.loadedAdapters()).toEqual(['a']);
    const [first, second] = await Promise.all([a, b]);
    // b could start loading only once a had finished with the only adapter slot.
    expect(second.firstAt - first.endAt).toBeGreaterThanOrEqual(75);
    expect(sim.loadedAdapters()).toEqual(['b']);
    // lora_requests_info keeps a series per state, the current one with the newest time.
    const now = await scrape(sim);
    const idle = sample(now, 'vllm:lora_requests_info', { running_lora_adapters: '', waiting_lora_adapters: '' }) ?? 0;
    const old = sample(now, 'vllm:lora_requests_info', { running_lora_adapters: 'a', waiting_lora_adapters: 'b' }) ?? Infinity;
    expect(idle).toBeGreaterThan(old);
  });

  it('answers 503 beyond maxQueue waiting, and frees queue places when clients leave', async () => {
    const sim = await start({ maxNumSeqs: 1, maxQueue: 1, tokensPerSecond: 10 });
    const client = clientFor(sim);
    const body = { model: DEFAULT_MODEL, messages: user('[sim:tokens=50]') };
    const leaveA = new AbortController();
    const leaveB = new AbortController();
    const a = post(sim, body, {}, leaveA.signal).catch(() => undefined);
    await until(() => sim.running() === 1, 5000, 'a running');
    const b = post(sim, body, {}, leaveB.signal).catch(() => undefined);
    await until(() => sim.waiting() === 1, 5000, 'b waiting');
    const err = await client.chat.completions.create(body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    const res = await post(sim, body);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { type: 'ServiceUnavailableError', code: 503, param: null } });
    expect(sim.requests.at(-1)?.usage).toBeUndefined();
    leaveB.abort();
    await until(() => sim.waiting() === 0, 5000, 'b gone from the queue');
    expect(sim.running()).toBe(1);
    leaveA.abort();
    await until(() => sim.running() === 0, 5000, 'a released');
    await Promise.all([a, b]);
    expect(sim.kvCacheUsage()).toBe(0);
  });

  it('spends prefill and latencyMs before the first token', async () => {
    const sim = await start({ prefillTokensPerSecond: 1000, latencyMs: 100 });
    const messages = user('p'.repeat(1600));
    const prompt = countPromptTokens(messages);
    await clientFor(sim).chat.completions.create({ model: DEFAULT_MODEL, messages });
    // 403 prompt tokens at 1000/s plus 100 ms.
    expect(sim.requests[0]?.timing?.ttftMs).toBeGreaterThanOrEqual(prompt + 100 - 10);
  });
});

describe('vLLM simulator: failure hooks and auth', () => {
  let sim: VllmSimulator;

  beforeAll(async () => {
    sim = await startVllmSimulator({ apiKey: 'vllm-key', failEvery: 3, failStatus: 502 });
  });
  afterAll(async () => {
    await sim.close();
  });

  const auth = { authorization: 'Bearer vllm-key' };
  const body = { model: DEFAULT_MODEL, messages: user('hi') };

  it('requires the key on /v1 only, answering as vLLM does', async () => {
    const res = await post(sim, body);
    expect([res.status, await res.json()]).toEqual([401, { error: 'Unauthorized' }]);
    expect((await fetch(`${sim.url}/metrics`)).status).toBe(200);
    expect((await fetch(`${sim.url}/health`)).status).toBe(200);
  });

  it('injects failures by header: status, reset, hang, midstream', async () => {
    const r429 = await post(sim, body, { ...auth, 'x-sim-fail': '429' });
    expect(r429.status).toBe(429);
    expect(r429.headers.get('retry-after')).toBe('1');
    expect(await r429.json()).toMatchObject({ error: { type: 'TooManyRequestsError', code: 429 } });
    await expect(post(sim, body, { ...auth, 'x-sim-fail': 'reset' })).rejects.toThrow();
    await expect(post(sim, body, { ...auth, 'x-sim-fail': 'hang' }, AbortSignal.timeout(200))).rejects.toThrow();
    const cut = await post(sim, { ...body, stream: true }, { ...auth, 'x-sim-fail': 'midstream' });
    expect(cut.status).toBe(200);
    await expect(cut.text()).rejects.toThrow();
  });

  it('fails every Nth chat request, not counting other routes', async () => {
    const fresh = await startVllmSimulator({ failEvery: 2, failStatus: 502 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        statuses.push((await post(fresh, body)).status);
        await fetch(`${fresh.url}/metrics`);
        await fetch(`${fresh.url}/v1/models`);
      }
      expect(statuses).toEqual([200, 502, 200, 502]);
    } finally {
      await fresh.close();
    }
  });

  it('validates its options', async () => {
    await expect(startVllmSimulator({ maxNumSeqs: 0 })).rejects.toThrow();
    await expect(startVllmSimulator({ loraModules: [DEFAULT_MODEL] })).rejects.toThrow();
  });
});
