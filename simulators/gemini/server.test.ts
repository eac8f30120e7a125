import { ApiError, FinishReason, GoogleGenAI, Type, type GenerateContentResponse } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GeminiStreamDecoder } from '../../ext-proc/src/providers/gemini/stream.js';
import { DEFAULT_COMPLETION_TOKENS, SIM_GREETING, echoFragment } from '../openai/completion.js';
import { API_KEY_INVALID_MESSAGE, SIM_MODELS, TOOL_CALL_TOKENS, countPromptTokens, planGemini, startGeminiSimulator, type GeminiSimulator } from './server.js';

const API_KEY = 'AIza-simulator-test-key';

const weatherTool = {
  functionDeclarations: [
    {
      name: 'get_weather',
      description: 'Current weather for a city.',
      parameters: { type: Type.OBJECT, properties: { city: { type: Type.STRING } }, required: ['city'] },
    },
    { name: 'get_time' },
  ],
};

describe('Gemini simulator driven by @google/genai', () => {
  let sim: GeminiSimulator;
  let ai: GoogleGenAI;

  beforeAll(async () => {
    sim = await startGeminiSimulator({ apiKey: API_KEY });
    ai = new GoogleGenAI({ apiKey: API_KEY, httpOptions: { baseUrl: sim.url } });
  });
  afterAll(async () => {
    await sim.close();
  });

  const lastRecord = () => sim.requests[sim.requests.length - 1]!;

  it('generateContent: the planned text, usage, ids; the request recorded with its usage', async () => {
    const res = await ai.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'What is the capital of France?',
      config: { systemInstruction: 'You are terse.' },
    });
    const body = lastRecord().body;
    const plan = planGemini(body);
    expect(plan.kind).toBe('text');
    expect(res.text).toBe(plan.kind === 'text' ? plan.text : undefined);
    expect(res.text!.startsWith(`${SIM_GREETING} What is the capital of France? lorem ipsum`)).toBe(true);
    expect(res.text!.split(' ')).toHaveLength(DEFAULT_COMPLETION_TOKENS);
    expect(res.candidates?.[0]?.finishReason).toBe(FinishReason.STOP);
    expect(res.candidates?.[0]?.content?.role).toBe('model');
    // ceil(("You are terse." 14 + question 30) / 4) + 3 * (1 content + 1 system instruction)
    expect(countPromptTokens(body)).toBe(17);
    expect(res.usageMetadata).toMatchObject({
      promptTokenCount: 17,
      candidatesTokenCount: DEFAULT_COMPLETION_TOKENS,
      totalTokenCount: 17 + DEFAULT_COMPLETION_TOKENS,
    });
    expect(res.modelVersion).toBe('gemini-2.5-flash');
    expect(res.responseId).toMatch(/^[A-Za-z0-9_-]{20,}$/);

    const rec = lastRecord();
    expect(rec.method).toBe('POST');
    expect(rec.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(rec.headers['x-goog-api-key']).toBe(API_KEY);
    expect(rec.usage).toEqual({ input: 17, output: DEFAULT_COMPLETION_TOKENS });
  });

  it('generateContentStream: one chunk per word, running usage in every chunk, final counts and finish last', async () => {
    const stream = await ai.models.generateContentStream({ model: 'gemini-2.5-pro', contents: 'Stream me something [sim:tokens=10]' });
    const chunks: GenerateContentResponse[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks).toHaveLength(10);
    const text = chunks.map((c) => c.text).join('');
    expect(text).toBe(`${SIM_GREETING} Stream me something [sim:tokens=10]`.split(' ').slice(0, 10).join(' '));
    expect(chunks.map((c) => c.usageMetadata?.candidatesTokenCount)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const c of chunks.slice(0, -1)) expect(c.candidates?.[0]?.finishReason).toBeUndefined();
    const last = chunks.at(-1)!;
    expect(last.candidates?.[0]?.finishReason).toBe(FinishReason.STOP);
    expect(last.usageMetadata?.promptTokenCount).toBe(lastRecord().usage!.input);
    expect(new Set(chunks.map((c) => c.responseId)).size).toBe(1);
    expect(lastRecord().path).toBe('/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse');
    expect(lastRecord().usage).toEqual({ input: countPromptTokens(lastRecord().body), output: 10 });
  });

  it('a function call to the first declared function, then the function response turn', async () => {
    const prompt = 'Weather in Paris please [sim:tool]';
    const res = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: prompt, config: { tools: [weatherTool] } });
    expect(res.functionCalls).toEqual([{ name: 'get_weather', args: { echo: echoFragment(prompt) } }]);
    expect(res.candidates?.[0]?.finishReason).toBe(FinishReason.STOP);
    expect(res.usageMetadata?.candidatesTokenCount).toBe(TOOL_CALL_TOKENS);
    expect(lastRecord().usage?.output).toBe(TOOL_CALL_TOKENS);

    // The result goes back; its JSON text is the last user text now, so the answer echoes it.
    const followUp = await ai.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: [
        { role: 'user', parts: [{ text: prompt }] },
        { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { temp: 21 } } }] },
      ],
      config: { tools: [weatherTool] },
    });
    expect(followUp.text!.startsWith(`${SIM_GREETING} {"temp":21}`)).toBe(true);
  });

  it('a streamed function call arrives whole in one chunk', async () => {
    const chunks: GenerateContentResponse[] = [];
    for await (const c of await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'time? [sim:tool]', config: { tools: [weatherTool] } }))
      chunks.push(c);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.functionCalls).toEqual([{ name: 'get_weather', args: { echo: 'time? [sim:tool]' } }]);
    expect(chunks[0]!.usageMetadata?.candidatesTokenCount).toBe(TOOL_CALL_TOKENS);
  });

  it('[sim:tool] without declared functions is plain text', async () => {
    const res = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'no tools [sim:tool]' });
    expect(res.functionCalls).toBeUndefined();
    expect(res.text!.startsWith(SIM_GREETING)).toBe(true);
  });

  it('maxOutputTokens cuts the answer and finishes with MAX_TOKENS', async () => {
    const res = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Long story [sim:tokens=50]', config: { maxOutputTokens: 5 } });
    expect(res.text).toBe('Hello from the simulator. You');
    expect(res.candidates?.[0]?.finishReason).toBe(FinishReason.MAX_TOKENS);
    expect(res.usageMetadata?.candidatesTokenCount).toBe(5);
  });

  it('a wrong key is a 400 INVALID_ARGUMENT, as the real API answers; ?key= works too', async () => {
    const bad = new GoogleGenAI({ apiKey: 'AIza-wrong', httpOptions: { baseUrl: sim.url } });
    const err = await bad.models.generateContent({ model: 'gemini-2.5-flash', contents: 'x' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(400);
    expect((err as ApiError).message).toContain(API_KEY_INVALID_MESSAGE);

    const raw = await fetch(`${sim.url}/v1beta/models/gemini-2.5-flash:generateContent?key=nope`, {
      method: 'POST',
      body: '{"contents":[{"parts":[{"text":"x"}]}]}',
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toEqual({
      error: {
        code: 400,
        message: API_KEY_INVALID_MESSAGE,
        status: 'INVALID_ARGUMENT',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'API_KEY_INVALID',
            domain: 'googleapis.com',
            metadata: { service: 'generativelanguage.googleapis.com' },
          },
        ],
      },
    });

    const viaQuery = await fetch(`${sim.url}/v1beta/models/gemini-2.5-flash:generateContent?key=${API_KEY}`, {
      method: 'POST',
      body: '{"contents":[{"parts":[{"text":"x"}]}]}',
    });
    expect(viaQuery.status).toBe(200);

    const refused = await fetch(`${sim.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': API_KEY, 'x-sim-reject-key': '1' },
      body: '{"contents":[{"parts":[{"text":"x"}]}]}',
    });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: { status: 'INVALID_ARGUMENT', details: [{ reason: 'API_KEY_INVALID' }] } });

    const missing = await fetch(`${sim.url}/v1beta/models`);
    expect(missing.status).toBe(403);
    expect(await missing.json()).toMatchObject({ error: { code: 403, status: 'PERMISSION_DENIED' } });
  });

  it('injected failures in Google’s error shape; the SDK sees their status', async () => {
    const post = (fail: string) =>
      fetch(`${sim.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
        method: 'POST',
        headers: { 'x-goog-api-key': API_KEY, 'x-sim-fail': fail },
        body: '{"contents":[{"parts":[{"text":"x"}]}]}',
      });
    const r429 = await post('429');
    expect(r429.status).toBe(429);
    const b429 = (await r429.json()) as { error: { status: string; details: Array<Record<string, unknown>> } };
    expect(b429.error.status).toBe('RESOURCE_EXHAUSTED');
    expect(b429.error.details).toContainEqual({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1s' });
    expect(await (await post('500')).json()).toMatchObject({ error: { code: 500, status: 'INTERNAL' } });
    expect(await (await post('503')).json()).toMatchObject({
      error: { code: 503, status: 'UNAVAILABLE', message: 'The model is overloaded. Please try again later.' },
    });
    expect(await (await post('504')).json()).toMatchObject({ error: { code: 504, status: 'DEADLINE_EXCEEDED' } });

    const err = await ai.models
      .generateContent({ model: 'gemini-2.5-flash', contents: 'x', config: { httpOptions: { headers: { 'x-sim-fail': '503' } } } })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((err as ApiError).status).toBe(503);
  });

  it('validation errors are 400 INVALID_ARGUMENT in Gemini’s wording', async () => {
    const post = (body: string) =>
      fetch(`${sim.url}/v1beta/models/gemini-2.5-flash:generateContent`, { method: 'POST', headers: { 'x-goog-api-key': API_KEY }, body });
    const cases: Array<[string, string]> = [
      ['{"contents": [', 'Invalid JSON payload'],
      ['{}', 'contents is not specified'],
      ['{"contents":[]}', 'contents is not specified'],
      ['{"contents":[{"role":"user","parts":[]}]}', 'contents[0].parts: contents.parts must not be empty'],
      ['{"contents":[{"role":"assistant","parts":[{"text":"x"}]}]}', 'valid role'],
      ['{"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"maxOutputTokens":0}}', 'max_output_tokens'],
    ];
    for (const [body, words] of cases) {
      const res = await post(body);
      expect(res.status, body).toBe(400);
      const json = (await res.json()) as { error: { status: string; message: string } };
      expect(json.error.status).toBe('INVALID_ARGUMENT');
      expect(json.error.message).toContain(words);
    }
    expect(lastRecord().usage).toBeUndefined();
  });

  it('raw SSE: CRLF-framed data events, text/event-stream; the gateway decoder reads the same usage', async () => {
    const res = await fetch(`${sim.url}/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { 'x-goog-api-key': API_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'héllo wörld [sim:tokens=4]' }] }], system_instruction: { parts: [{ text: 'sys' }] } }),
    });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const raw = Buffer.from(await res.arrayBuffer());
    const text = raw.toString('utf8');
    const events = text.slice(0, -4).split('\r\n\r\n');
    expect(text.endsWith('\r\n\r\n')).toBe(true);
    expect(events).toHaveLength(4);
    for (const e of events) expect(e.startsWith('data: ')).toBe(true);

    const decoder = new GeminiStreamDecoder();
    const decoded = [...raw].flatMap((b) => decoder.push(Buffer.from([b]))).concat(decoder.end());
    expect(
      decoded
        .filter((e) => e.type === 'text')
        .map((e) => (e as { text: string }).text)
        .join(''),
    ).toBe('Hello from the simulator.');
    const usage = decoded.filter((e) => e.type === 'usage').at(-1) as { usage: { inputTokens: number; outputTokens: number } };
    expect({ input: usage.usage.inputTokens, output: usage.usage.outputTokens }).toEqual(lastRecord().usage);
    // snake_case system_instruction counted as a message: ceil((3 + 26) / 4) + 3 * 2
    expect(lastRecord().usage?.input).toBe(14);
  });

  it('without alt=sse the stream is one JSON array of the same chunks', async () => {
    const res = await fetch(`${sim.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': API_KEY },
      body: JSON.stringify({ contents: [{ parts: [{ text: 'array [sim:tokens=3]' }] }] }),
    });
    expect(res.headers.get('content-type')).toContain('application/json');
    const chunks = (await res.json()) as Array<{ candidates: Array<{ content: { parts: Array<{ text: string }> }; finishReason?: string }> }>;
    expect(chunks).toHaveLength(3);
    expect(chunks.map((c) => c.candidates[0]!.content.parts[0]!.text).join('')).toBe('Hello from the');
    expect(chunks[2]!.candidates[0]!.finishReason).toBe('STOP');
  });

  it('[sim:tokens=0] streams one empty chunk with the finish', async () => {
    const chunks: GenerateContentResponse[] = [];
    for await (const c of await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'nothing [sim:tokens=0]' })) chunks.push(c);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.text).toBe('');
    expect(chunks[0]!.candidates?.[0]?.finishReason).toBe(FinishReason.STOP);
    expect(chunks[0]!.usageMetadata?.candidatesTokenCount).toBe(0);
  });

  it('models: the SDK lists them; one can be fetched; unknown ones and routes are 404', async () => {
    const names: string[] = [];
    for await (const m of await ai.models.list()) names.push(m.name ?? '');
    expect(names).toEqual(SIM_MODELS.map((m) => `models/${m.id}`));

    const one = await ai.models.get({ model: 'gemini-2.0-flash' });
    expect(one).toMatchObject({ name: 'models/gemini-2.0-flash', inputTokenLimit: 1_048_576, outputTokenLimit: 8_192 });

    const unknown = await fetch(`${sim.url}/v1beta/models/gemini-9`, { headers: { 'x-goog-api-key': API_KEY } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
    const route = await fetch(`${sim.url}/v1beta/models/gemini-2.5-flash:countTokens`, { method: 'POST', headers: { 'x-goog-api-key': API_KEY }, body: '{}' });
    expect(route.status).toBe(404);
  });

  it('hang keeps the request open until the client leaves', async () => {
    const ac = new AbortController();
    const outcome = fetch(`${sim.url}/v1beta/models/m:generateContent`, {
      method: 'POST',
      signal: ac.signal,
      headers: { 'x-goog-api-key': API_KEY, 'x-sim-fail': 'hang' },
      body: '{}',
    }).then(
      () => 'answered',
      () => 'aborted',
    );
    expect(await Promise.race([outcome, new Promise<string>((r) => setTimeout(() => r('pending'), 150))])).toBe('pending');
    ac.abort();
    expect(await outcome).toBe('aborted');
  });

  it('reset and midstream drop the connection; latency delays the answer', async () => {
    const post = (headers: Record<string, string>, stream = false) =>
      fetch(`${sim.url}/v1beta/models/m:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`, {
        method: 'POST',
        headers: { 'x-goog-api-key': API_KEY, ...headers },
        body: '{"contents":[{"parts":[{"text":"x"}]}]}',
      });
    await expect(post({ 'x-sim-fail': 'reset' })).rejects.toThrow();
    const mid = await post({ 'x-sim-fail': 'midstream' }, true);
    expect(mid.status).toBe(200);
    await expect(mid.text()).rejects.toThrow();
    const midJson = await post({ 'x-sim-fail': 'midstream' });
    await expect(midJson.text()).rejects.toThrow();

    const t0 = Date.now();
    const slow = await post({ 'x-sim-latency-ms': '120' });
    expect(slow.status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
  });
});

describe('Gemini simulator options', () => {
  it('paces streams with tokensPerSecond', async () => {
    const sim = await startGeminiSimulator({ tokensPerSecond: 200 });
    try {
      const ai = new GoogleGenAI({ apiKey: 'unused', httpOptions: { baseUrl: sim.url } });
      const t0 = Date.now();
      let firstAt = -1;
      let words = 0;
      for await (const c of await ai.models.generateContentStream({ model: 'm', contents: 'pace [sim:tokens=40]' })) {
        if (firstAt < 0) firstAt = Date.now() - t0;
        words += (c.text ?? '').trim() === '' ? 0 : 1;
      }
      const total = Date.now() - t0;
      expect(words).toBe(40);
      // 40 tokens at 200 tokens/s = 200 ms.
      expect(total).toBeGreaterThanOrEqual(180);
      expect(firstAt).toBeLessThan(total / 2);
    } finally {
      await sim.close();
    }
  });

  it('failEvery / failStatus, and no key needed when none is configured', async () => {
    const sim = await startGeminiSimulator({ failEvery: 2, failStatus: 503 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${sim.url}/v1beta/models/m:generateContent`, { method: 'POST', body: '{"contents":[{"parts":[{"text":"x"}]}]}' });
        await res.text();
        statuses.push(res.status);
      }
      expect(statuses).toEqual([200, 503, 200, 503]);
      expect(sim.requestCount()).toBe(4);
    } finally {
      await sim.close();
    }
  });
});

describe('planGemini', () => {
  it('counts every text part, function responses as JSON, and the system instruction as a message', () => {
    const body = {
      systemInstruction: { parts: [{ text: 'abcd' }] },
      contents: [
        { role: 'user', parts: [{ text: 'abcd' }, { inlineData: { mimeType: 'image/png', data: 'xxxx' } }] },
        { role: 'model', parts: [{ functionCall: { name: 'f', args: { a: 1 } } }] },
        { role: 'user', parts: [{ functionResponse: { name: 'f', response: { ok: 1 } } }] },
      ],
    };
    // 4 + 4 + '{"ok":1}' 8 = 16 chars → 4, plus 3 * 4 messages
    expect(countPromptTokens(body)).toBe(4 + 12);
    const plan = planGemini(body);
    expect(plan.kind === 'text' && plan.text.startsWith(`${SIM_GREETING} {"ok":1}`)).toBe(true);
  });

  it('the last user turn is the one read, even before a trailing model turn', () => {
    const plan = planGemini({ contents: [{ parts: [{ text: 'first [sim:tokens=2]' }] }, { role: 'model', parts: [{ text: 'prefill' }] }] });
    expect(plan).toMatchObject({ kind: 'text', words: ['Hello', 'from'], outputTokens: 2, finishReason: 'STOP' });
  });

  it('snake_case fields are read too', () => {
    const plan = planGemini({
      contents: [{ parts: [{ text: 'x [sim:tool]' }] }],
      tools: [{ function_declarations: [{ name: 'snake' }] }],
      generation_config: { max_output_tokens: 1 },
    });
    expect(plan).toMatchObject({ kind: 'tool', call: { name: 'snake', args: { echo: 'x [sim:tool]' } } });
    expect(planGemini({ contents: [{ parts: [{ text: 'y' }] }], generation_config: { max_output_tokens: 1 } })).toMatchObject({
      outputTokens: 1,
      finishReason: 'MAX_TOKENS',
    });
  });
});
