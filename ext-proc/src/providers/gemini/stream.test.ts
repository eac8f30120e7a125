import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiError, GoogleGenAI, type GenerateContentResponse } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StreamEvent } from '../canonical/types.js';
import { GeminiStreamDecoder, GeminiStreamEncoder } from './stream.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

function decode(chunks: Buffer[]): StreamEvent[] {
  const d = new GeminiStreamDecoder();
  const events: StreamEvent[] = [];
  for (const c of chunks) events.push(...d.push(c));
  events.push(...d.end());
  return events;
}

/** The same bytes cut in two at every offset must decode to the same events. */
function expectSplitInvariant(bytes: Buffer, expected: StreamEvent[]): void {
  for (let i = 0; i <= bytes.length; i++) {
    expect(decode([bytes.subarray(0, i), bytes.subarray(i)]), `split at byte ${i}`).toEqual(expected);
  }
}

const sse = (...chunks: unknown[]) => Buffer.from(chunks.map((c) => `data: ${JSON.stringify(c)}\r\n\r\n`).join(''), 'utf8');
const textChunk = (text: string, extra: Record<string, unknown> = {}) => ({
  candidates: [{ content: { parts: [{ text }], role: 'model' }, index: 0, ...extra }],
  modelVersion: 'gemini-2.5-flash',
  responseId: 'r1',
});

describe('GeminiStreamDecoder', () => {
  const textEvents: StreamEvent[] = [
    { type: 'start', id: 'AdVRaMmDCYekqtsPrb_-iAw', model: 'gemini-2.5-flash' },
    { type: 'text', text: 'Here you go!\n\n1.  **English:** Hi\n2.  **Spanish:** Hola\n' },
    { type: 'text', text: '3.  **French:** Bonjour\n4.  **German:** Hallo\n5.  ' },
    { type: 'text', text: '**Italian:** Ciao' },
    { type: 'finish', reason: 'stop' },
    { type: 'usage', usage: { inputTokens: 5, outputTokens: 44 + 186, cachedInputTokens: 0, reasoningTokens: 186 } },
  ];

  it('reads the documented CRLF-framed stream; the last usage wins and is reported once', () => {
    expect(decode([fixture('stream-text.sse')])).toEqual(textEvents);
  });

  it('gives the same events whatever the chunk boundaries (every byte offset)', () => {
    expectSplitInvariant(fixture('stream-text.sse'), textEvents);
  });

  it('byte by byte', () => {
    const bytes = fixture('stream-text.sse');
    expect(decode([...bytes].map((b) => Buffer.from([b])))).toEqual(textEvents);
  });

  it('multi-byte UTF-8 split inside characters, LF framing', () => {
    const bytes = Buffer.from(
      sse(textChunk('héllo wörld '), textChunk('😀 世界', { finishReason: 'STOP' }))
        .toString('utf8')
        .replace(/\r\n/g, '\n'),
      'utf8',
    );
    const expected: StreamEvent[] = [
      { type: 'start', id: 'r1', model: 'gemini-2.5-flash' },
      { type: 'text', text: 'héllo wörld ' },
      { type: 'text', text: '😀 世界' },
      { type: 'finish', reason: 'stop' },
    ];
    expectSplitInvariant(bytes, expected);
  });

  it('a whole function call: start + one delta with the args as JSON text; STOP means tool_calls', () => {
    const expected: StreamEvent[] = [
      { type: 'start', id: 'BtVRaO2pM8ucqtsP7dK_uAc', model: 'gemini-2.5-flash' },
      { type: 'tool_call_start', index: 0, id: 'call_0', name: 'schedule_meeting' },
      { type: 'tool_call_delta', index: 0, arguments: '{"attendees":["Bob","Alice"],"date":"2025-03-27","time":"10:00","topic":"Q3 planning"}' },
      { type: 'finish', reason: 'tool_calls' },
      { type: 'usage', usage: { inputTokens: 113, outputTokens: 117, cachedInputTokens: 0, reasoningTokens: 80 } },
    ];
    expectSplitInvariant(fixture('stream-function-call.sse'), expected);
  });

  it('calls in several chunks are indexed across the stream', () => {
    const call = (name: string, extra: Record<string, unknown> = {}) => ({
      candidates: [{ content: { parts: [{ functionCall: { name, args: {} } }], role: 'model' }, ...extra }],
    });
    const events = decode([sse(call('a'), call('b', { finishReason: 'STOP' }))]);
    expect(events.filter((e) => e.type === 'tool_call_start')).toEqual([
      { type: 'tool_call_start', index: 0, id: 'call_0', name: 'a' },
      { type: 'tool_call_start', index: 1, id: 'call_1', name: 'b' },
    ]);
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'tool_calls' });
  });

  it('no usageMetadata at all: no usage event', () => {
    const events = decode([sse(textChunk('a'), textChunk('b', { finishReason: 'MAX_TOKENS' }))]);
    expect(events.map((e) => e.type)).toEqual(['start', 'text', 'text', 'finish']);
    expect(events.at(-1)).toEqual({ type: 'finish', reason: 'length' });
  });

  it('usage that grows after the finishing chunk is reported again at the end', () => {
    const u = (n: number) => ({ promptTokenCount: 4, candidatesTokenCount: n, totalTokenCount: 4 + n });
    const events = decode([
      sse({ ...textChunk('a', { finishReason: 'STOP' }), usageMetadata: u(1) }, { candidates: [{ groundingMetadata: {} }], usageMetadata: u(3) }),
    ]);
    expect(events.filter((e) => e.type === 'usage').map((e) => (e as { usage: { outputTokens: number } }).usage.outputTokens)).toEqual([1, 3]);
  });

  it('a stream cut before its finish: no finish, the last usage seen at the end, a torn last event ignored', () => {
    const whole = sse({ ...textChunk('Hello'), usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 1, totalTokenCount: 5 } });
    const torn = Buffer.from('data: {"candidates": [{"content": {"parts": [{"text": " wor', 'utf8');
    const events = decode([whole, torn]);
    expect(events).toEqual([
      { type: 'start', id: 'r1', model: 'gemini-2.5-flash' },
      { type: 'text', text: 'Hello' },
      { type: 'usage', usage: { inputTokens: 4, outputTokens: 1, cachedInputTokens: 0, reasoningTokens: 0 } },
    ]);
  });

  it('a last event without its blank line is still read at the end', () => {
    const bytes = Buffer.from(`data: ${JSON.stringify(textChunk('fin', { finishReason: 'STOP' }))}`, 'utf8');
    const d = new GeminiStreamDecoder();
    expect(d.push(bytes)).toEqual([]);
    expect(d.end()).toEqual([
      { type: 'start', id: 'r1', model: 'gemini-2.5-flash' },
      { type: 'text', text: 'fin' },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  it('an error object in the stream becomes an error event with its code', () => {
    const events = decode([
      sse(textChunk('partial'), { error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } }),
    ]);
    expect(events.at(-1)).toEqual({ type: 'error', status: 503, message: 'The model is overloaded. Please try again later.' });
    expect(decode([sse({ error: { message: 'odd' } })])).toEqual([{ type: 'error', status: 500, message: 'odd' }]);
  });

  it('a whole event that is not JSON is an error (502)', () => {
    const events = decode([Buffer.from('data: {not json}\r\n\r\n', 'utf8')]);
    expect(events).toEqual([{ type: 'error', status: 502, message: expect.stringContaining('not JSON') as unknown as string }]);
  });

  it('thought parts are skipped; a blocked prompt finishes as content_filter', () => {
    const thought = { candidates: [{ content: { parts: [{ text: 'hmm', thought: true }], role: 'model' } }], responseId: 'r', modelVersion: 'm' };
    expect(decode([sse(thought, textChunk('Yes', { finishReason: 'STOP' }))]).filter((e) => e.type === 'text')).toEqual([{ type: 'text', text: 'Yes' }]);
    expect(decode([sse({ promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 3 } })]).slice(1)).toEqual([
      { type: 'finish', reason: 'content_filter' },
      { type: 'usage', usage: { inputTokens: 3, outputTokens: 0, cachedInputTokens: 0, reasoningTokens: 0 } },
    ]);
  });
});

const ctx = { id: 'resp-xyz', model: 'my-model', created: 0, includeUsage: false };
const usage = { inputTokens: 10, outputTokens: 3, cachedInputTokens: 0, reasoningTokens: 0 };

/** The JSON of each `data:` event, checking Gemini's CRLF framing on the way. */
function frames(text: string): Array<Record<string, unknown>> {
  if (text === '') return [];
  expect(text.endsWith('\r\n\r\n')).toBe(true);
  return text
    .slice(0, -4)
    .split('\r\n\r\n')
    .map((e) => {
      expect(e.startsWith('data: ')).toBe(true);
      return JSON.parse(e.slice(6)) as Record<string, unknown>;
    });
}
const candidate = (f: Record<string, unknown>) => (f.candidates as Array<Record<string, unknown>>)[0]!;

describe('GeminiStreamEncoder', () => {
  it('one chunk per text event at once; the finish waits for usage and goes out with it', () => {
    const enc = new GeminiStreamEncoder(ctx);
    expect(enc.encode([{ type: 'start', id: 'backend-id', model: 'backend-model' }])).toBe('');
    const first = enc.encode([{ type: 'text', text: 'Hello' }]);
    expect(first).toBe(
      'data: {"candidates":[{"content":{"parts":[{"text":"Hello"}],"role":"model"},"index":0}],"modelVersion":"my-model","responseId":"resp-xyz"}\r\n\r\n',
    );
    expect(frames(enc.encode([{ type: 'text', text: ' there' }]))).toHaveLength(1);
    expect(enc.encode([{ type: 'finish', reason: 'stop' }])).toBe('');
    const last = frames(enc.encode([{ type: 'usage', usage }]));
    expect(last).toEqual([
      {
        candidates: [{ content: { parts: [{ text: '' }], role: 'model' }, finishReason: 'STOP', index: 0 }],
        usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 3, totalTokenCount: 13 },
        modelVersion: 'my-model',
        responseId: 'resp-xyz',
      },
    ]);
    expect(enc.end(false)).toBe('');
  });

  it('usage before the finish: the final chunk goes out with the finish', () => {
    const enc = new GeminiStreamEncoder(ctx);
    const out = frames(
      enc.encode([
        { type: 'text', text: 'a' },
        { type: 'usage', usage },
        { type: 'finish', reason: 'length' },
      ]),
    );
    expect(out).toHaveLength(2);
    expect(candidate(out[1]!).finishReason).toBe('MAX_TOKENS');
    expect(out[1]!.usageMetadata).toMatchObject({ totalTokenCount: 13 });
  });

  it('a finish with no usage ever: the final chunk goes out at the end, without usageMetadata', () => {
    const enc = new GeminiStreamEncoder(ctx);
    expect(
      frames(
        enc.encode([
          { type: 'text', text: 'a' },
          { type: 'finish', reason: 'stop' },
        ]),
      ),
    ).toHaveLength(1);
    const last = frames(enc.end(false));
    expect(last).toHaveLength(1);
    expect(candidate(last[0]!).finishReason).toBe('STOP');
    expect(last[0]).not.toHaveProperty('usageMetadata');
  });

  it('gathers streamed argument pieces into one whole functionCall', () => {
    const enc = new GeminiStreamEncoder(ctx);
    let out = enc.encode([
      { type: 'tool_call_start', index: 0, id: 'call_abc', name: 'get_weather' },
      { type: 'tool_call_delta', index: 0, arguments: '{"ci' },
      { type: 'tool_call_delta', index: 0, arguments: 'ty":"Pa' },
      { type: 'tool_call_start', index: 1, id: 'call_def', name: 'get_time' },
      { type: 'tool_call_delta', index: 0, arguments: 'ris"}' },
    ]);
    expect(out).toBe('');
    out = enc.encode([
      { type: 'finish', reason: 'tool_calls' },
      { type: 'usage', usage },
    ]);
    const f = frames(out);
    expect(f).toHaveLength(2);
    expect(candidate(f[0]!).content).toEqual({
      parts: [
        { functionCall: { id: 'call_abc', name: 'get_weather', args: { city: 'Paris' } } },
        { functionCall: { id: 'call_def', name: 'get_time', args: {} } },
      ],
      role: 'model',
    });
    expect(candidate(f[1]!).finishReason).toBe('STOP');
  });

  it('text after a call sends the call first, keeping the order', () => {
    const enc = new GeminiStreamEncoder(ctx);
    const f = frames(
      enc.encode([
        { type: 'tool_call_start', index: 0, id: 'c', name: 'f' },
        { type: 'tool_call_delta', index: 0, arguments: '{}' },
        { type: 'text', text: 'after' },
      ]),
    );
    expect(f.map((x) => Object.keys((candidate(x).content as { parts: Array<Record<string, unknown>> }).parts[0]!)[0])).toEqual(['functionCall', 'text']);
  });

  it('a call whose arguments never became an object finishes as MALFORMED_FUNCTION_CALL', () => {
    const enc = new GeminiStreamEncoder(ctx);
    const f = frames(
      enc.encode([
        { type: 'tool_call_start', index: 0, id: 'c', name: 'f' },
        { type: 'tool_call_delta', index: 0, arguments: '[1]' },
        { type: 'finish', reason: 'tool_calls' },
        { type: 'usage', usage },
      ]),
    );
    expect(f).toHaveLength(1);
    expect(candidate(f[0]!).finishReason).toBe('MALFORMED_FUNCTION_CALL');
  });

  it('end(true): complete calls are sent, a half-written one dropped, and the stream ends with an error object (not a finish)', () => {
    const enc = new GeminiStreamEncoder(ctx);
    enc.encode([
      { type: 'text', text: 'Working' },
      { type: 'tool_call_start', index: 0, id: 'c0', name: 'done' },
      { type: 'tool_call_delta', index: 0, arguments: '{"ok":true}' },
      { type: 'tool_call_start', index: 1, id: 'c1', name: 'cut' },
      { type: 'tool_call_delta', index: 1, arguments: '{"a":' },
      { type: 'usage', usage },
    ]);
    const f = frames(enc.end(true));
    expect(f).toHaveLength(2);
    expect(candidate(f[0]!).content).toEqual({ parts: [{ functionCall: { id: 'c0', name: 'done', args: { ok: true } } }], role: 'model' });
    expect(f[1]).toEqual({ error: { code: 502, message: expect.stringMatching(/ended before the answer was complete/), status: 'UNAVAILABLE' } });
    expect(enc.end(true)).toBe('');
  });

  it('end(true) right after the start still closes the stream, with an error object and no finishReason', () => {
    const enc = new GeminiStreamEncoder(ctx);
    enc.encode([{ type: 'start', id: 'x', model: 'y' }]);
    const f = frames(enc.end(true));
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ error: { code: 502, status: 'UNAVAILABLE' } });
    expect(JSON.stringify(f)).not.toContain('finishReason');
  });

  it('an error event becomes Google’s error object; nothing follows it', () => {
    const enc = new GeminiStreamEncoder(ctx);
    const out = enc.encode([
      { type: 'text', text: 'a' },
      { type: 'error', status: 529, message: 'Overloaded' },
      { type: 'text', text: 'ignored' },
    ]);
    const f = frames(out);
    expect(f[1]).toEqual({ error: { code: 529, message: 'Overloaded', status: 'UNAVAILABLE' } });
    expect(f).toHaveLength(2);
    expect(enc.end(true)).toBe('');
  });

  it('a filtered answer ends without content and with SAFETY', () => {
    const enc = new GeminiStreamEncoder(ctx);
    const f = frames(enc.encode([{ type: 'finish', reason: 'content_filter' }]) + enc.end(false));
    expect(f.map(candidate)).toEqual([{ finishReason: 'SAFETY', index: 0 }]);
  });

  it('decoder(encoder(events)) gives back the text, calls, finish and usage', () => {
    const events: StreamEvent[] = [
      { type: 'start', id: 'a', model: 'b' },
      { type: 'text', text: 'Olá 😀' },
      { type: 'tool_call_start', index: 0, id: 'call_0', name: 'f' },
      { type: 'tool_call_delta', index: 0, arguments: '{"x":[1,2]}' },
      { type: 'finish', reason: 'tool_calls' },
      { type: 'usage', usage: { inputTokens: 1, outputTokens: 5, cachedInputTokens: 0, reasoningTokens: 2 } },
    ];
    const enc = new GeminiStreamEncoder(ctx);
    const bytes = Buffer.from(enc.encode(events) + enc.end(false), 'utf8');
    expect(decode([bytes])).toEqual([{ type: 'start', id: 'resp-xyz', model: 'my-model' }, ...events.slice(1)]);
  });
});

describe('GeminiStreamEncoder output read by @google/genai', () => {
  let body = '';
  let server: http.Server;
  let ai: GoogleGenAI;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ai = new GoogleGenAI({ apiKey: 'test-key', httpOptions: { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` } });
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function collect(): Promise<GenerateContentResponse[]> {
    const chunks: GenerateContentResponse[] = [];
    for await (const c of await ai.models.generateContentStream({ model: 'my-model', contents: 'hi' })) chunks.push(c);
    return chunks;
  }

  it('a whole answer: text, usage, finish', async () => {
    const enc = new GeminiStreamEncoder(ctx);
    body =
      enc.encode([
        { type: 'text', text: 'Hello' },
        { type: 'text', text: ' world' },
        { type: 'finish', reason: 'stop' },
        { type: 'usage', usage },
      ]) + enc.end(false);
    const chunks = await collect();
    expect(chunks.map((c) => c.text ?? '').join('')).toBe('Hello world');
    const last = chunks.at(-1)!;
    expect(last.candidates?.[0]?.finishReason).toBe('STOP');
    expect(last.usageMetadata?.promptTokenCount).toBe(10);
    expect(last.responseId).toBe('resp-xyz');
    expect(last.modelVersion).toBe('my-model');
  });

  it('an aborted stream reaches the SDK as an ApiError after the text it had (a cut answer is not a finished one)', async () => {
    const enc = new GeminiStreamEncoder(ctx);
    body = enc.encode([{ type: 'text', text: 'Partial ans' }]) + enc.end(true);
    let text = '';
    const err = await (async () => {
      for await (const c of await ai.models.generateContentStream({ model: 'my-model', contents: 'hi' })) text += c.text ?? '';
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(text).toBe('Partial ans');
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(502);
  });

  it('a function call comes out as the SDK’s functionCalls', async () => {
    const enc = new GeminiStreamEncoder(ctx);
    body =
      enc.encode([
        { type: 'tool_call_start', index: 0, id: 'call_1', name: 'get_weather' },
        { type: 'tool_call_delta', index: 0, arguments: '{"city":' },
        { type: 'tool_call_delta', index: 0, arguments: '"Paris"}' },
        { type: 'finish', reason: 'tool_calls' },
      ]) + enc.end(false);
    const chunks = await collect();
    expect(chunks.flatMap((c) => c.functionCalls ?? [])).toEqual([{ id: 'call_1', name: 'get_weather', args: { city: 'Paris' } }]);
  });

  it('an error event reaches the caller as an ApiError with its status', async () => {
    const enc = new GeminiStreamEncoder(ctx);
    body =
      enc.encode([
        { type: 'text', text: 'a' },
        { type: 'error', status: 503, message: 'overloaded' },
      ]) + enc.end(true);
    const err = await collect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(503);
  });
});
