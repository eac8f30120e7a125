import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI, type GenerateContentResponse } from '@google/genai';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Usage } from '../metering/usage.js';
import type { CanonicalResponse, FormatId } from '../providers/canonical/types.js';
import { FORMATS } from '../providers/formats.js';
import { CanonicalAssembler } from './canonical-assembler.js';
import { StreamCollector, collectWhole } from './collect.js';
import { parseEntry, serializeEntry, type CacheEntry, type CachedResponse } from './entry.js';
import { replayEntry, responseEvents } from './replay-entry.js';
import { replayJson, replaySse } from './replay.js';
import type { ChatCompletion } from './types.js';

const bytes = (path: string): Buffer => readFileSync(new URL(path, import.meta.url));
const APIS: FormatId[] = ['openai', 'anthropic', 'gemini', 'ollama'];
const usage = (inputTokens: number, outputTokens: number, cachedInputTokens = 0, reasoningTokens = 0): Usage => ({
  inputTokens,
  outputTokens,
  cachedInputTokens,
  reasoningTokens,
});

function canonical(entry: CacheEntry | undefined): CachedResponse {
  if (entry?.kind !== 'canonical') throw new Error('expected a canonical entry');
  return entry.response;
}

/** Canonical entries gathered from every API's fixtures, plus answers that exercise every replay path. */
const FROM_FIXTURES: [string, CachedResponse][] = [
  ['OpenAI stream, two tool calls', canonical(collect('anthropic', 'openai', './fixtures/tool-calls.sse'))],
  ['OpenAI answer with cached input', canonical(collectWhole('gemini', 'openai', bytes('../providers/openai/fixtures/chat-response.json')).entry)],
  ['Anthropic stream, text then a tool call', canonical(collect('openai', 'anthropic', '../providers/anthropic/fixtures/messages-stream-tool-use.sse'))],
  [
    'Anthropic stream cut at max_tokens, cache reads',
    canonical(collect('anthropic', 'anthropic', '../providers/anthropic/fixtures/messages-stream-cache.sse')),
  ],
  ['Gemini stream with thoughts counted', canonical(collect('ollama', 'gemini', '../providers/gemini/fixtures/stream-text.sse'))],
  ['Gemini function call', canonical(collectWhole('openai', 'gemini', bytes('../providers/gemini/fixtures/response-function-call.json')).entry)],
  ['Ollama tool call', canonical(collect('anthropic', 'ollama', '../providers/ollama/fixtures/chat-stream-tools.ndjson'))],
];

function collect(caller: FormatId, format: FormatId, path: string): CacheEntry | undefined {
  const c = new StreamCollector(caller, format);
  c.push(bytes(path));
  return c.end().entry;
}

const SYNTHETIC: [string, CachedResponse][] = [
  [
    'long multilingual text with emoji, cut at length',
    {
      id: 'x1',
      model: 'stored-model',
      content: [{ type: 'text', text: 'Voilà 😀 — 東京の天気は晴れです。'.repeat(40) }],
      finishReason: 'length',
      usage: usage(40, 2000, 0, 0),
    },
  ],
  [
    'text, three tool calls with long and empty arguments, text after',
    {
      id: 'x2',
      model: 'stored-model',
      content: [
        { type: 'text', text: 'Let me look these up.' },
        { type: 'tool_call', id: 'call_a', name: 'search', arguments: JSON.stringify({ q: 'ü'.repeat(300), n: [1, 2, 3], nested: { ok: true } }) },
        { type: 'tool_call', id: 'call_b', name: 'now', arguments: '{}' },
        { type: 'tool_call', id: 'call_c', name: 'weather', arguments: '{"city":"Zürich"}' },
        { type: 'text', text: ' One moment.' },
      ],
      finishReason: 'tool_calls',
      usage: usage(1000, 120, 512, 64),
    },
  ],
  ['a short answer', { id: 'x3', model: 'stored-model', content: [{ type: 'text', text: 'Hi' }], finishReason: 'stop', usage: usage(3, 1) }],
];

const ENTRIES = [...FROM_FIXTURES, ...SYNTHETIC];

/** What the caller's API can carry back of an answer: its text, calls, finish and the usage counters it has. */
interface Seen {
  text: string;
  calls: Array<{ id: string; name: string; args: unknown }>;
  finish: string;
  usage: Usage | undefined;
}

function seenBy(caller: FormatId, r: CanonicalResponse): Seen {
  const calls = r.content.flatMap((p) => (p.type === 'tool_call' ? [p] : []));
  const u = r.usage;
  return {
    text: r.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join(''),
    // Ollama has no tool call ids: its readers number the calls.
    calls: calls.map((p, i) => ({ id: caller === 'ollama' ? `call_${i}` : p.id, name: p.name, args: JSON.parse(p.arguments) })),
    finish: r.finishReason,
    usage:
      u &&
      {
        openai: u,
        gemini: u,
        // Anthropic has no reasoning counter in usage; Ollama reports input and output only.
        anthropic: { ...u, reasoningTokens: 0 },
        ollama: { ...u, cachedInputTokens: 0, reasoningTokens: 0 },
      }[caller],
  };
}

const decodeStream = (caller: FormatId, body: Buffer): CanonicalResponse | undefined => {
  const d = FORMATS[caller].createStreamDecoder();
  const a = new CanonicalAssembler();
  a.push(d.push(body));
  a.push(d.end());
  a.end();
  return a.result();
};

const matrix = APIS.flatMap((caller) => ENTRIES.map(([name, res]) => [caller, name, res] as const));
const AT = { id: 'resp-0001', created: 1760000000, model: 'caller-model' };

describe('replayEntry: canonical entries, decoded again by the caller API’s own reader', () => {
  it.each(matrix)('%s caller, whole: %s', (caller, _name, res) => {
    const out = replayEntry({ kind: 'canonical', response: res }, FORMATS[caller], { ...AT, stream: false })!;
    expect(out.contentType).toBe('application/json');
    expect(out.usage).toEqual(res.usage);
    const back = FORMATS[caller].parseResponse(JSON.parse(out.body.toString('utf8')));
    expect(seenBy(caller, back)).toEqual(seenBy(caller, res));
  });

  it.each(matrix)('%s caller, stream: %s', (caller, _name, res) => {
    const out = replayEntry({ kind: 'canonical', response: res }, FORMATS[caller], { ...AT, stream: true, includeUsage: true })!;
    expect(out.contentType).toBe(FORMATS[caller].streamContentType);
    const back = decodeStream(caller, out.body);
    expect(back).toBeDefined();
    expect(seenBy(caller, back!)).toEqual(seenBy(caller, res));
  });

  it.each(matrix)('%s caller: a replayed stream, read as a same-API answer, collects into the same entry: %s', (caller, _name, res) => {
    const out = replayEntry({ kind: 'canonical', response: res }, FORMATS[caller], { ...AT, stream: true, includeUsage: true })!;
    const c = new StreamCollector(caller, caller);
    c.push(out.body);
    const again = c.end();
    expect(again.problem).toBeUndefined();
    const got = again.entry!.kind === 'openai' ? FORMATS.openai.parseResponse(again.entry!.completion) : canonical(again.entry);
    expect(seenBy(caller, got)).toEqual(seenBy(caller, res));
    // The whole body too.
    const whole = replayEntry({ kind: 'canonical', response: res }, FORMATS[caller], { ...AT, stream: false })!;
    expect(collectWhole(caller, caller, whole.body).problem).toBeUndefined();
  });

  it('OpenAI callers get the usage chunk only when they ask for it', () => {
    const res = SYNTHETIC[1]![1];
    const without = replayEntry({ kind: 'canonical', response: res }, FORMATS.openai, { ...AT, stream: true, includeUsage: false })!;
    expect(without.body.toString()).not.toContain('"usage"');
    expect(decodeStream('openai', without.body)!.usage).toBeUndefined();
    expect(without.usage).toEqual(res.usage);
    const withIt = replayEntry({ kind: 'canonical', response: res }, FORMATS.openai, { ...AT, stream: true, includeUsage: true })!;
    expect(decodeStream('openai', withIt.body)!.usage).toEqual(res.usage);
  });

  it('shows the given id and model, or a fresh id shaped like the API’s and the stored model', () => {
    const res = SYNTHETIC[2]![1];
    const whole = (caller: FormatId, o: object) =>
      JSON.parse(replayEntry({ kind: 'canonical', response: res }, FORMATS[caller], { stream: false, ...o })!.body.toString()) as Record<string, any>;
    expect(whole('openai', AT)).toMatchObject({ id: 'resp-0001', model: 'caller-model', created: 1760000000 });
    expect(whole('anthropic', AT)).toMatchObject({ id: 'resp-0001', model: 'caller-model' });
    expect(whole('gemini', AT)).toMatchObject({ responseId: 'resp-0001', modelVersion: 'caller-model' });
    expect(whole('ollama', AT)).toMatchObject({ model: 'caller-model', created_at: new Date(1760000000 * 1000).toISOString() });
    const a = whole('openai', {});
    const b = whole('openai', {});
    expect(a.id).toMatch(/^chatcmpl-[0-9a-f]{24}$/);
    expect(a.id).not.toBe(b.id);
    expect(a.model).toBe('stored-model');
    expect(whole('anthropic', {}).id).toMatch(/^msg_[0-9a-f]{24}$/);
    expect(whole('gemini', {}).modelVersion).toBe('stored-model');
    const stream = replayEntry({ kind: 'canonical', response: res }, FORMATS.anthropic, { ...AT, stream: true })!.body.toString();
    expect(stream).toContain('"id":"resp-0001"');
    expect(stream).toContain('"model":"caller-model"');
  });

  it('splits text and arguments into a few pieces, calls as start then deltas, then finish and usage', () => {
    const res = SYNTHETIC[1]![1];
    const events = responseEvents(res, { id: 'i', model: 'm' });
    expect(events[0]).toEqual({ type: 'start', id: 'i', model: 'm' });
    expect(events.slice(-2)).toEqual([
      { type: 'finish', reason: 'tool_calls' },
      { type: 'usage', usage: res.usage },
    ]);
    const firstCall = events.filter((e) => (e.type === 'tool_call_start' || e.type === 'tool_call_delta') && e.index === 0);
    expect(firstCall[0]).toEqual({ type: 'tool_call_start', index: 0, id: 'call_a', name: 'search' });
    expect(firstCall.length).toBe(5); // start + 4 pieces of a long argument text
    expect(events.filter((e) => e.type === 'text').length).toBe(2);
  });
});

describe('replayEntry: openai entries', () => {
  const TEXT = JSON.parse(bytes('./fixtures/text.completion.json').toString()) as ChatCompletion;
  const N2 = {
    ...(JSON.parse(bytes('./fixtures/n2.completion.json').toString()) as ChatCompletion),
    usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
  };

  it('replays as today for an OpenAI caller, model as stored unless one is given', () => {
    const entry: CacheEntry = { kind: 'openai', completion: TEXT };
    const sse = replayEntry(entry, FORMATS.openai, { id: 'c1', created: 5, stream: true, includeUsage: true })!;
    expect(sse.body).toEqual(replaySse(TEXT, { id: 'c1', created: 5, includeUsage: true }));
    expect(sse.contentType).toBe('text/event-stream');
    expect(sse.usage).toEqual({ inputTokens: 1117, outputTokens: 14, cachedInputTokens: 0, reasoningTokens: 0 });
    const body = replayEntry(entry, FORMATS.openai, { id: 'c1', created: 5, stream: false })!;
    expect(body.body).toEqual(replayJson(TEXT, { id: 'c1', created: 5 }));
    expect(JSON.parse(body.body.toString()).model).toBe(TEXT.model);
    const renamed = replayEntry(entry, FORMATS.openai, { id: 'c1', created: 5, stream: false, model: 'gpt-4o' })!;
    expect(JSON.parse(renamed.body.toString())).toEqual({ ...TEXT, id: 'c1', created: 5, model: 'gpt-4o' });
  });

  it('renders a one-choice completion for another API, and gives up on n > 1', () => {
    const out = replayEntry({ kind: 'openai', completion: TEXT }, FORMATS.anthropic, { ...AT, stream: false })!;
    expect(JSON.parse(out.body.toString())).toMatchObject({ type: 'message', content: [{ type: 'text', text: TEXT.choices[0]!.message.content }] });
    expect(replayEntry({ kind: 'openai', completion: N2 }, FORMATS.gemini, { ...AT, stream: true })).toBeUndefined();
    expect(replayEntry({ kind: 'openai', completion: N2 }, FORMATS.openai, { ...AT, stream: true })).toBeDefined();
  });
});

describe('hit latency', () => {
  it('parse + replay of a canonical entry costs about what today’s openai replay does', () => {
    // The same answer both ways: today's stored completion, and the canonical entry made from it.
    const TEXT = JSON.parse(bytes('./fixtures/text.completion.json').toString()) as ChatCompletion;
    const legacyRaw = Buffer.from(JSON.stringify(TEXT));
    const canonicalRaw = serializeEntry(collectWhole('anthropic', 'openai', legacyRaw).entry!);
    // Best of five rounds (µs per hit): other test files share the cores.
    const time = (f: () => unknown, n = 1000): number => {
      for (let i = 0; i < 500; i++) f();
      let best = Infinity;
      for (let round = 0; round < 5; round++) {
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < n; i++) f();
        best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e3 / n);
      }
      return best;
    };
    const today = time(() => replaySse(JSON.parse(legacyRaw.toString()) as ChatCompletion, { id: 'x', created: 1, includeUsage: true }));
    const perApi = APIS.map(
      (api) => [api, time(() => replayEntry(parseEntry(canonicalRaw)!, FORMATS[api], { stream: true, includeUsage: true, id: 'x', created: 1 }))] as const,
    );
    const wholeApi = APIS.map(
      (api) => [api, time(() => replayEntry(parseEntry(canonicalRaw)!, FORMATS[api], { stream: false, id: 'x', created: 1 }))] as const,
    );
    console.log(
      `hit replay, µs per hit: today (openai SSE) ${today.toFixed(1)}; stream ${perApi.map(([a, t]) => `${a} ${t.toFixed(1)}`).join(', ')}; whole ${wholeApi.map(([a, t]) => `${a} ${t.toFixed(1)}`).join(', ')}`,
    );
    // Tens of microseconds either way, against a Redis round trip of ~100 µs; a loaded CI box gets slack.
    for (const [api, t] of [...perApi, ...wholeApi]) expect(t, api).toBeLessThan(Math.max(200, 4 * today));
  });
});

// ---- the official SDKs --------------------------------------------------------------------------

/** One loopback server answering every request with the next body, as the provider tests serve their encoders' output. */
let served: { body: Buffer; contentType: string } = { body: Buffer.alloc(0), contentType: 'application/json' };
let server: http.Server;
let base = '';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': served.contentType });
      res.end(served.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function serve(api: FormatId, res: CachedResponse, stream: boolean): void {
  const out = replayEntry({ kind: 'canonical', response: res }, FORMATS[api], { ...AT, stream, includeUsage: true })!;
  served = { body: out.body, contentType: out.contentType };
}

const expectedCalls = (res: CachedResponse) =>
  res.content.flatMap((p) => (p.type === 'tool_call' ? [{ id: p.id, name: p.name, args: JSON.parse(p.arguments) as unknown }] : []));
const expectedText = (res: CachedResponse) => res.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('');

describe('replayed answers read by the official SDKs', () => {
  const params = { model: 'caller-model', messages: [{ role: 'user' as const, content: 'hi' }] };

  it.each(ENTRIES)('openai: stream helper and create() for %s', async (_name, res) => {
    const client = new OpenAI({ apiKey: 'k', baseURL: `${base}/v1`, maxRetries: 0 });
    const check = (c: OpenAI.ChatCompletion) => {
      const choice = c.choices[0]!;
      expect(c.id).toBe('resp-0001');
      expect(c.model).toBe('caller-model');
      expect(choice.message.content ?? '').toBe(expectedText(res));
      expect(
        (choice.message.tool_calls ?? []).map((t) => (t.type === 'function' ? { id: t.id, name: t.function.name, args: JSON.parse(t.function.arguments) } : t)),
      ).toEqual(expectedCalls(res));
      expect(choice.finish_reason).toBe(res.finishReason);
      expect(c.usage).toMatchObject({ prompt_tokens: res.usage.inputTokens, completion_tokens: res.usage.outputTokens });
    };
    serve('openai', res, true);
    check(await client.chat.completions.stream({ ...params, stream_options: { include_usage: true } }).finalChatCompletion());
    serve('openai', res, false);
    check(await client.chat.completions.create(params));
  });

  it.each(ENTRIES)('anthropic: MessageStream and create() for %s', async (_name, res) => {
    const client = new Anthropic({ apiKey: 'k', baseURL: base, maxRetries: 0 });
    const p = { ...params, max_tokens: 100 };
    const check = (m: Anthropic.Message) => {
      expect(m.id).toBe('resp-0001');
      expect(m.model).toBe('caller-model');
      expect(m.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('')).toBe(expectedText(res));
      expect(m.content.flatMap((b) => (b.type === 'tool_use' ? [{ id: b.id, name: b.name, args: b.input }] : []))).toEqual(expectedCalls(res));
      expect(m.stop_reason).toBe(res.finishReason === 'length' ? 'max_tokens' : res.finishReason === 'tool_calls' ? 'tool_use' : 'end_turn');
      expect(m.usage.input_tokens + (m.usage.cache_read_input_tokens ?? 0)).toBe(res.usage.inputTokens);
      expect(m.usage.output_tokens).toBe(res.usage.outputTokens);
    };
    serve('anthropic', res, true);
    check(await client.messages.stream(p).finalMessage());
    serve('anthropic', res, false);
    check(await client.messages.create(p));
  });

  it.each(ENTRIES)('@google/genai: generateContentStream and generateContent for %s', async (_name, res) => {
    const ai = new GoogleGenAI({ apiKey: 'k', httpOptions: { baseUrl: base } });
    const check = (chunks: GenerateContentResponse[]) => {
      const last = chunks.at(-1)!;
      expect(chunks.map((c) => c.text ?? '').join('')).toBe(expectedText(res));
      expect(chunks.flatMap((c) => c.functionCalls ?? []).map((f) => ({ id: f.id, name: f.name, args: f.args }))).toEqual(expectedCalls(res));
      expect(last.candidates?.[0]?.finishReason).toBe(res.finishReason === 'length' ? 'MAX_TOKENS' : 'STOP');
      expect(last.usageMetadata?.promptTokenCount).toBe(res.usage.inputTokens);
      expect(last.responseId).toBe('resp-0001');
      expect(last.modelVersion).toBe('caller-model');
    };
    serve('gemini', res, true);
    const chunks: GenerateContentResponse[] = [];
    for await (const c of await ai.models.generateContentStream({ model: 'caller-model', contents: 'hi' })) chunks.push(c);
    check(chunks);
    serve('gemini', res, false);
    check([await ai.models.generateContent({ model: 'caller-model', contents: 'hi' })]);
  });

  it.each(ENTRIES)('ollama: chat stream and chat for %s', async (_name, res) => {
    const client = new Ollama({ host: base });
    const ollamaCalls = expectedCalls(res).map((c) => ({ function: { name: c.name, arguments: c.args } }));
    serve('ollama', res, true);
    let text = '';
    const calls: unknown[] = [];
    let last: { done: boolean; done_reason: string; prompt_eval_count: number; eval_count: number } | undefined;
    for await (const chunk of await client.chat({ ...params, stream: true })) {
      text += chunk.message.content;
      calls.push(...(chunk.message.tool_calls ?? []));
      last = chunk;
    }
    expect(text).toBe(expectedText(res));
    expect(calls).toEqual(ollamaCalls);
    const doneReason = res.finishReason === 'length' ? 'length' : 'stop';
    expect(last).toMatchObject({ done: true, done_reason: doneReason, prompt_eval_count: res.usage.inputTokens, eval_count: res.usage.outputTokens });
    serve('ollama', res, false);
    const whole = await client.chat({ ...params, stream: false });
    expect(whole.message.content).toBe(expectedText(res));
    expect(whole.message.tool_calls ?? []).toEqual(ollamaCalls);
    expect(whole).toMatchObject({ done: true, done_reason: doneReason, model: 'caller-model' });
  });
});
