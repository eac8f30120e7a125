import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EncoderContext, StreamEvent } from '../canonical/types.js';
import { OpenAIStreamDecoder, OpenAIStreamEncoder } from './stream-translate.js';

type Rec = Record<string, unknown>;

const fixture = (name: string): Buffer => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

const TEXT_USAGE = fixture('chat-stream-usage.sse');
const TEXT_PLAIN = fixture('chat-stream.sse');
const TOOLS = fixture('chat-stream-tool-calls.sse');

function decodeAll(chunks: Buffer[]): StreamEvent[] {
  const d = new OpenAIStreamDecoder();
  const events: StreamEvent[] = [];
  for (const c of chunks) events.push(...d.push(c));
  events.push(...d.end());
  return events;
}

const sse = (...datas: unknown[]): Buffer => Buffer.from(datas.map((d) => `data: ${typeof d === 'string' ? d : JSON.stringify(d)}\n\n`).join(''), 'utf8');

const chunk = (delta: Rec, finish_reason: string | null = null, extra: Rec = {}): Rec => ({
  id: 'chatcmpl-x',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'm',
  choices: [{ index: 0, delta, logprobs: null, finish_reason }],
  ...extra,
});

const TEXT_EVENTS: StreamEvent[] = [
  { type: 'start', id: 'chatcmpl-123', model: 'gpt-4o-mini-2024-07-18' },
  { type: 'text', text: 'Hello' },
  { type: 'text', text: '! How can I assist you today?' },
  { type: 'finish', reason: 'stop' },
  { type: 'usage', usage: { inputTokens: 19, outputTokens: 10, cachedInputTokens: 0, reasoningTokens: 0 } },
];

/** Tool call arguments per canonical index, concatenated from the deltas. */
function toolArgs(events: StreamEvent[]): Record<number, string> {
  const out: Record<number, string> = {};
  for (const e of events) if (e.type === 'tool_call_delta') out[e.index] = (out[e.index] ?? '') + e.arguments;
  return out;
}

describe('OpenAIStreamDecoder', () => {
  it('decodes the documented stream with its usage chunk', () => {
    expect(decodeAll([TEXT_USAGE])).toEqual(TEXT_EVENTS);
  });

  it('without the usage chunk there is no usage event', () => {
    expect(decodeAll([TEXT_PLAIN])).toEqual(TEXT_EVENTS.slice(0, -1));
  });

  it('decodes parallel tool calls by index', () => {
    const events = decodeAll([TOOLS]);
    expect(events.filter((e) => e.type === 'tool_call_start')).toEqual([
      { type: 'tool_call_start', index: 0, id: 'call_9bk0TiT1mp3mjXlBYG2GbJ0R', name: 'get_weather' },
      { type: 'tool_call_start', index: 1, id: 'call_yOVpiDLLyUo1ZLqnlIIuJsMu', name: 'get_weather' },
    ]);
    expect(toolArgs(events)).toEqual({
      0: '{"location":"Paris, France","unit":"celsius"}',
      1: '{"location":"Bogotá, Colombia","unit":"celsius"}',
    });
    // The empty first `arguments` produces no delta; every start precedes its deltas.
    const firstDelta1 = events.findIndex((e) => e.type === 'tool_call_delta' && e.index === 1);
    const start1 = events.findIndex((e) => e.type === 'tool_call_start' && e.index === 1);
    expect(start1).toBeLessThan(firstDelta1);
    expect(events.every((e) => e.type !== 'tool_call_delta' || e.arguments !== '')).toBe(true);
    expect(events.slice(-2)).toEqual([
      { type: 'finish', reason: 'tool_calls' },
      { type: 'usage', usage: { inputTokens: 68, outputTokens: 50, cachedInputTokens: 0, reasoningTokens: 0 } },
    ]);
  });

  it.each([
    ['text', TEXT_USAGE],
    ['tool calls (with a 2-byte character)', TOOLS],
  ])('gives the same events whatever byte offset splits the %s stream', (_name, whole) => {
    const expected = decodeAll([whole]);
    for (let at = 0; at <= whole.length; at++) {
      expect(decodeAll([whole.subarray(0, at), whole.subarray(at)])).toEqual(expected);
    }
  });

  it('splits inside a 4-byte character at every offset', () => {
    const whole = sse(chunk({ role: 'assistant', content: '' }), chunk({ content: 'smile 😀 ok' }), chunk({}, 'stop'), '[DONE]');
    const expected = decodeAll([whole]);
    expect(expected).toContainEqual({ type: 'text', text: 'smile 😀 ok' });
    for (let at = 0; at <= whole.length; at++) expect(decodeAll([whole.subarray(0, at), whole.subarray(at)])).toEqual(expected);
  });

  it('byte by byte', () => {
    const bytes = [...TOOLS].map((b) => Buffer.from([b]));
    expect(decodeAll(bytes)).toEqual(decodeAll([TOOLS]));
  });

  it('CRLF framing, split at every offset (also between CR and LF)', () => {
    const crlf = Buffer.from(TEXT_USAGE.toString('utf8').replace(/\n/g, '\r\n'), 'utf8');
    expect(decodeAll([crlf])).toEqual(TEXT_EVENTS);
    for (let at = 0; at <= crlf.length; at++) expect(decodeAll([crlf.subarray(0, at), crlf.subarray(at)])).toEqual(TEXT_EVENTS);
  });

  it('a stream cut before [DONE] still yields what arrived, including a last event without its blank line', () => {
    const text = TEXT_USAGE.toString('utf8');
    const noDone = text.slice(0, text.indexOf('data: [DONE]'));
    expect(decodeAll([Buffer.from(noDone)])).toEqual(TEXT_EVENTS);
    expect(decodeAll([Buffer.from(noDone.trimEnd())])).toEqual(TEXT_EVENTS);
    // Cut inside the usage chunk: the half event is not JSON and is skipped.
    const cut = noDone.slice(0, noDone.lastIndexOf('"usage":{') + 12);
    expect(decodeAll([Buffer.from(cut)])).toEqual(TEXT_EVENTS.slice(0, -1));
  });

  it('usage is emitted once, at [DONE], also when a server puts it on the finish chunk or on every chunk', () => {
    const u = (n: number) => ({ prompt_tokens: 5, completion_tokens: n, total_tokens: 5 + n });
    const d = new OpenAIStreamDecoder();
    const first = d.push(sse(chunk({ role: 'assistant', content: 'a' }, null, { usage: u(1) }), chunk({ content: 'b' }, null, { usage: u(2) })));
    expect(first.some((e) => e.type === 'usage')).toBe(false);
    const rest = [...d.push(sse(chunk({}, 'stop', { usage: u(3) }), '[DONE]')), ...d.end()];
    expect(rest.filter((e) => e.type === 'usage')).toEqual([
      { type: 'usage', usage: { inputTokens: 5, outputTokens: 3, cachedInputTokens: 0, reasoningTokens: 0 } },
    ]);
    // vLLM sends `choices: null` on the usage chunk.
    const vllm = decodeAll([sse(chunk({ content: 'x' }), chunk({}, 'length'), { id: 'c', choices: null, usage: u(1) }, '[DONE]')]);
    expect(vllm.slice(-2)).toEqual([
      { type: 'finish', reason: 'length' },
      { type: 'usage', usage: { inputTokens: 5, outputTokens: 1, cachedInputTokens: 0, reasoningTokens: 0 } },
    ]);
  });

  it('an error object in the stream becomes an error event with a status', () => {
    const events = decodeAll([
      sse(chunk({ content: 'partial' }), { error: { message: 'The server had an error while processing your request.', type: 'server_error' } }),
    ]);
    expect(events.at(-1)).toEqual({ type: 'error', message: 'The server had an error while processing your request.', status: 502 });
    expect(decodeAll([sse({ error: { message: 'slow down', type: 'tokens', code: 'rate_limit_exceeded' } })])).toEqual([
      { type: 'error', message: 'slow down', status: 429 },
    ]);
    expect(decodeAll([sse({ object: 'error', error: { message: 'bad', type: 'BadRequestError', code: 400 } })])).toEqual([
      { type: 'error', message: 'bad', status: 400 },
    ]);
  });

  it('whole tool calls in one delta without index (some compatible servers), and stop after calls', () => {
    const events = decodeAll([
      sse(
        chunk({
          role: 'assistant',
          content: '',
          tool_calls: [
            { id: 'call_a', type: 'function', function: { name: 'f', arguments: '{"x":1}' } },
            { type: 'function', function: { name: 'g', arguments: { y: 2 } } },
          ],
        }),
        chunk({}, 'stop'),
        '[DONE]',
      ),
    ]);
    expect(events.slice(1)).toEqual([
      { type: 'tool_call_start', index: 0, id: 'call_a', name: 'f' },
      { type: 'tool_call_delta', index: 0, arguments: '{"x":1}' },
      { type: 'tool_call_start', index: 1, id: 'call_1', name: 'g' },
      { type: 'tool_call_delta', index: 1, arguments: '{"y":2}' },
      { type: 'finish', reason: 'tool_calls' },
    ]);
  });

  it('a new id at a used index starts a new call; refusal deltas are text; nothing after [DONE]; junk is skipped', () => {
    const events = decodeAll([
      sse(
        chunk({ tool_calls: [{ index: 0, id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] }),
        chunk({ tool_calls: [{ index: 0, id: 'c2', type: 'function', function: { name: 'g', arguments: '' } }] }),
        chunk({ refusal: 'No.' }),
        'not json',
        chunk({}, 'tool_calls'),
        chunk({}, 'stop'),
        '[DONE]',
        chunk({ content: 'late' }),
      ),
    ]);
    expect(events.slice(1)).toEqual([
      { type: 'tool_call_start', index: 0, id: 'c1', name: 'f' },
      { type: 'tool_call_delta', index: 0, arguments: '{}' },
      { type: 'tool_call_start', index: 1, id: 'c2', name: 'g' },
      { type: 'text', text: 'No.' },
      { type: 'finish', reason: 'tool_calls' },
    ]);
  });

  it('an empty stream gives no events', () => {
    expect(decodeAll([])).toEqual([]);
    expect(decodeAll([Buffer.from(': keep-alive\n\n')])).toEqual([]);
  });
});

const CTX: EncoderContext = { id: 'chatcmpl-gw', model: 'caller-model', created: 1700000000, includeUsage: false };

/** The data payloads of an encoded stream, JSON-parsed except `[DONE]`. */
function payloads(text: string): unknown[] {
  expect(text.endsWith('\n\n') || text === '').toBe(true);
  return text
    .split('\n\n')
    .filter((e) => e !== '')
    .map((e) => {
      expect(e.startsWith('data: ')).toBe(true);
      const data = e.slice(6);
      return data === '[DONE]' ? data : (JSON.parse(data) as unknown);
    });
}

function encodeAll(ctx: EncoderContext, events: StreamEvent[], aborted = false): string {
  const enc = new OpenAIStreamEncoder(ctx);
  return enc.encode(events) + enc.end(aborted);
}

const USAGE = { inputTokens: 7, outputTokens: 3, cachedInputTokens: 2, reasoningTokens: 1 };

describe('OpenAIStreamEncoder', () => {
  it('text: role chunk, content chunks, finish chunk, [DONE], in the documented chunk shape', () => {
    const out = encodeAll(CTX, [
      { type: 'start', id: 'msg_1', model: 'backend-model' },
      { type: 'text', text: 'Hel' },
      { type: 'text', text: '' },
      { type: 'text', text: 'lo' },
      { type: 'finish', reason: 'stop' },
      { type: 'usage', usage: USAGE },
    ]);
    const head = { id: 'chatcmpl-gw', object: 'chat.completion.chunk', created: 1700000000, model: 'caller-model' };
    expect(payloads(out)).toEqual([
      { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] },
      { ...head, choices: [{ index: 0, delta: { content: 'Hel' }, logprobs: null, finish_reason: null }] },
      { ...head, choices: [{ index: 0, delta: { content: 'lo' }, logprobs: null, finish_reason: null }] },
      { ...head, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] },
      '[DONE]',
    ]);
  });

  it('include_usage: usage null on every chunk, then the usage chunk with empty choices before [DONE]', () => {
    const out = payloads(
      encodeAll({ ...CTX, includeUsage: true }, [
        { type: 'start', id: 'x', model: 'y' },
        { type: 'usage', usage: USAGE },
        { type: 'text', text: 'Hi' },
        { type: 'finish', reason: 'length' },
      ]),
    ) as Rec[];
    expect(out.at(-1)).toBe('[DONE]');
    const last = out.at(-2)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({
      prompt_tokens: 7,
      completion_tokens: 3,
      total_tokens: 10,
      prompt_tokens_details: { cached_tokens: 2 },
      completion_tokens_details: { reasoning_tokens: 1 },
    });
    for (const c of out.slice(0, -2)) expect(c.usage).toBeNull();
    expect((out.at(-3)!.choices as Rec[])[0]!.finish_reason).toBe('length');
  });

  it('include_usage without a usage event: no usage chunk rather than invented numbers', () => {
    const out = payloads(
      encodeAll({ ...CTX, includeUsage: true }, [
        { type: 'text', text: 'Hi' },
        { type: 'finish', reason: 'stop' },
      ]),
    ) as Rec[];
    expect(out.some((c) => Array.isArray(c.choices) && c.choices.length === 0)).toBe(false);
    expect(out.at(-1)).toBe('[DONE]');
  });

  it('tool calls: the first delta carries index, id, type, name and empty arguments', () => {
    const out = payloads(
      encodeAll(CTX, [
        { type: 'start', id: 'x', model: 'y' },
        { type: 'tool_call_start', index: 0, id: 'toolu_1', name: 'get_weather' },
        { type: 'tool_call_delta', index: 0, arguments: '{"city":' },
        { type: 'tool_call_delta', index: 0, arguments: '' },
        { type: 'tool_call_delta', index: 0, arguments: '"Paris"}' },
        { type: 'finish', reason: 'tool_calls' },
      ]),
    ) as Rec[];
    const deltas = out.slice(0, -1).map((c) => (c.choices as Rec[])[0]!.delta);
    expect(deltas).toEqual([
      { role: 'assistant', content: '' },
      { tool_calls: [{ index: 0, id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] },
      {},
    ]);
  });

  it('end without a finish event still closes with a finish chunk; events without start still get the role chunk first', () => {
    const out = payloads(encodeAll(CTX, [{ type: 'text', text: 'x' }])) as Rec[];
    expect(((out[0]!.choices as Rec[])[0]!.delta as Rec).role).toBe('assistant');
    expect((out.at(-2)!.choices as Rec[])[0]!.finish_reason).toBe('stop');
    expect(payloads(encodeAll(CTX, [])).length).toBe(3);
  });

  it('end(true) emits one error line and nothing after it', () => {
    const enc = new OpenAIStreamEncoder(CTX);
    const body = enc.encode([
      { type: 'start', id: 'x', model: 'y' },
      { type: 'text', text: 'par' },
    ]);
    const tail = enc.end(true);
    expect(payloads(tail)).toEqual([
      { error: { message: 'The upstream stream ended before the response was complete.', type: 'server_error', param: null, code: null } },
    ]);
    expect(body).not.toContain('[DONE]');
    expect(enc.encode([{ type: 'text', text: 'more' }])).toBe('');
    expect(enc.end(false)).toBe('');
    expect(enc.end(true)).toBe('');
  });

  it('an error event emits the error line, typed by its status, and closes the stream', () => {
    const enc = new OpenAIStreamEncoder(CTX);
    const out = enc.encode([
      { type: 'text', text: 'a' },
      { type: 'error', message: 'Overloaded', status: 429 },
      { type: 'text', text: 'b' },
    ]);
    const p = payloads(out) as Rec[];
    expect(p.at(-1)).toEqual({ error: { message: 'Overloaded', type: 'rate_limit_exceeded', param: null, code: null } });
    expect(out).not.toContain('"b"');
    expect(enc.end(false)).toBe('');
  });

  it('decode(encode(events)) keeps the events (ids and model aside)', () => {
    const events = decodeAll([TOOLS]);
    const ctx = { ...CTX, includeUsage: true };
    const again = decodeAll([Buffer.from(encodeAll(ctx, events))]);
    expect(again[0]).toEqual({ type: 'start', id: 'chatcmpl-gw', model: 'caller-model' });
    expect(again.slice(1)).toEqual(events.slice(1));
  });
});

describe('OpenAIStreamEncoder output read by the openai SDK', () => {
  let body = '';
  let server: http.Server;
  let client: OpenAI;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    client = new OpenAI({ apiKey: 'k', baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  const params = { model: 'caller-model', messages: [{ role: 'user' as const, content: 'hi' }] };

  it('assembles text, tool calls and usage with the SDK stream helper', async () => {
    body = encodeAll({ ...CTX, includeUsage: true }, [
      { type: 'start', id: 'x', model: 'y' },
      { type: 'text', text: 'Checking ' },
      { type: 'text', text: 'now.' },
      { type: 'tool_call_start', index: 0, id: 'call_a', name: 'f' },
      { type: 'tool_call_delta', index: 0, arguments: '{"a":' },
      { type: 'tool_call_start', index: 1, id: 'call_b', name: 'g' },
      { type: 'tool_call_delta', index: 1, arguments: '{}' },
      { type: 'tool_call_delta', index: 0, arguments: '1}' },
      { type: 'finish', reason: 'tool_calls' },
      { type: 'usage', usage: USAGE },
    ]);
    const final = await client.chat.completions.stream({ ...params, stream_options: { include_usage: true } }).finalChatCompletion();
    expect(final.id).toBe('chatcmpl-gw');
    expect(final.model).toBe('caller-model');
    const choice = final.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBe('Checking now.');
    expect(choice.message.tool_calls).toEqual([
      { id: 'call_a', type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
      { id: 'call_b', type: 'function', function: { name: 'g', arguments: '{}' } },
    ]);
    expect(final.usage?.total_tokens).toBe(10);
  });

  it('the aborted-stream error line makes the SDK throw an APIError', async () => {
    const enc = new OpenAIStreamEncoder(CTX);
    body =
      enc.encode([
        { type: 'start', id: 'x', model: 'y' },
        { type: 'text', text: 'half an ans' },
      ]) + enc.end(true);
    const stream = await client.chat.completions.create({ ...params, stream: true });
    let text = '';
    const err = await (async () => {
      for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(text).toBe('half an ans');
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).message).toContain('The upstream stream ended before the response was complete.');
    expect((err as InstanceType<typeof OpenAI.APIError>).type).toBe('server_error');
  });
});
