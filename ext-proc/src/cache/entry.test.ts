import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rootLogger } from '../log/logger.js';
import type { CanonicalResponse } from '../providers/canonical/types.js';
import { createMemoryStore } from '../store/memory.js';
import { ENTRY_VERSION, entryUsage, isCacheableResponse, parseEntry, serializeEntry, type CacheEntry, type CachedResponse } from './entry.js';
import { cacheKey } from './key.js';
import { ResponseCache } from './response-cache.js';
import type { ChatCompletion } from './types.js';

const json = <T>(path: string): T => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as T;

const TEXT = json<ChatCompletion>('./fixtures/text.completion.json');
const N2 = { ...json<ChatCompletion>('./fixtures/n2.completion.json'), usage: { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 } };

const USAGE = { inputTokens: 30, outputTokens: 12, cachedInputTokens: 10, reasoningTokens: 4 };
const RESPONSE: CachedResponse = {
  id: 'msg_1',
  model: 'claude-sonnet-4-5-20250929',
  content: [
    { type: 'text', text: 'Checking the weather — 東京 😀.' },
    { type: 'tool_call', id: 'toolu_1', name: 'get_weather', arguments: '{"location":"Tokyo"}' },
    { type: 'tool_call', id: 'toolu_2', name: 'get_time', arguments: '{}' },
  ],
  finishReason: 'tool_calls',
  usage: USAGE,
};

const ENTRIES: [string, CacheEntry][] = [
  ['openai', { kind: 'openai', completion: TEXT }],
  ['openai, n=2', { kind: 'openai', completion: N2 }],
  ['canonical', { kind: 'canonical', response: RESPONSE }],
  ['canonical with origin', { kind: 'canonical', response: RESPONSE, origin: { model: 'groq/llama-3.3-70b', provider: 'groq' } }],
  ['openai with origin', { kind: 'openai', completion: TEXT, origin: { model: 'openai/gpt-4o', provider: 'openai' } }],
];

describe('serializeEntry / parseEntry', () => {
  it.each(ENTRIES)('round-trips the %s entry', (_name, entry) => {
    const bytes = serializeEntry(entry);
    expect(JSON.parse(bytes.toString('utf8'))).toMatchObject({ v: ENTRY_VERSION, kind: entry.kind });
    expect(parseEntry(bytes)).toEqual(entry);
    expect(parseEntry(bytes.toString('utf8'))).toEqual(entry);
  });

  it('keeps every field of an openai completion, in its order', () => {
    const withExtras = { ...TEXT, choices: [{ ...TEXT.choices[0]!, message: { ...TEXT.choices[0]!.message, annotations: [] } }] };
    const parsed = parseEntry(serializeEntry({ kind: 'openai', completion: withExtras }));
    expect(parsed?.kind === 'openai' && JSON.stringify(parsed.completion)).toBe(JSON.stringify(withExtras));
  });

  it.each(ENTRIES)('reads every truncation of the %s entry as a miss, never a throw', (_name, entry) => {
    const bytes = serializeEntry(entry);
    for (let n = 0; n < bytes.length; n++) expect(parseEntry(bytes.subarray(0, n)), `cut at ${n}`).toBeUndefined();
  });

  const base = () => JSON.parse(serializeEntry({ kind: 'canonical', response: RESPONSE }).toString('utf8')) as Record<string, any>;
  const edited = (f: (e: Record<string, any>) => void) => {
    const e = base();
    f(e);
    return JSON.stringify(e);
  };
  const CORRUPT: [string, string | Buffer][] = [
    ['not JSON', 'not json'],
    ['binary noise', Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22])],
    ['empty', ''],
    ['null', 'null'],
    ['an array', '[1,2]'],
    ['a v1 entry (a bare completion)', JSON.stringify(TEXT)],
    ['another version', edited((e) => (e.v = 3))],
    ['no version', edited((e) => delete e.v)],
    ['version as a string', edited((e) => (e.v = '2'))],
    ['an unknown kind', edited((e) => (e.kind = 'anthropic'))],
    ['no response', edited((e) => delete e.response)],
    ['a canonical entry holding a completion', JSON.stringify({ v: ENTRY_VERSION, kind: 'canonical', completion: TEXT })],
    ['an openai entry holding a canonical response', JSON.stringify({ v: ENTRY_VERSION, kind: 'openai', response: RESPONSE })],
    ['an openai completion that is not cacheable', JSON.stringify({ v: ENTRY_VERSION, kind: 'openai', completion: { ...TEXT, usage: null } })],
    ['a content_filter answer', edited((e) => (e.response.finishReason = 'content_filter'))],
    ['an unknown finish reason', edited((e) => (e.response.finishReason = 'end_turn'))],
    ['no usage', edited((e) => delete e.response.usage)],
    ['a negative token count', edited((e) => (e.response.usage.outputTokens = -1))],
    ['a token count as a string', edited((e) => (e.response.usage.inputTokens = '30'))],
    ['an image part', edited((e) => e.response.content.push({ type: 'image', source: { kind: 'url', url: 'https://x/y.png' } }))],
    ['tool arguments that are not JSON', edited((e) => (e.response.content[1].arguments = '{"location":"Tok'))],
    ['tool arguments that are a JSON array', edited((e) => (e.response.content[1].arguments = '[1]'))],
    ['a tool call without id', edited((e) => (e.response.content[1].id = ''))],
    ['a text part with a number', edited((e) => (e.response.content[0].text = 5))],
    ['content not an array', edited((e) => (e.response.content = 'hi'))],
    ['no model', edited((e) => delete e.response.model)],
    ['origin without provider', edited((e) => (e.origin = { model: 'x' }))],
    ['origin as a string', edited((e) => (e.origin = 'openai'))],
  ];

  it.each(CORRUPT)('reads %s as a miss', (_name, raw) => {
    expect(parseEntry(raw)).toBeUndefined();
  });
});

describe('isCacheableResponse', () => {
  const r = (patch: Partial<CanonicalResponse>): CanonicalResponse => ({ ...RESPONSE, ...patch });
  const text = (t: string) => [{ type: 'text' as const, text: t }];

  it('accepts complete answers that stopped, ran out of tokens, or called tools', () => {
    expect(isCacheableResponse(RESPONSE)).toBe(true);
    expect(isCacheableResponse(r({ content: text('Hi'), finishReason: 'stop' }))).toBe(true);
    expect(isCacheableResponse(r({ content: text('Hi, this is cut'), finishReason: 'length' }))).toBe(true);
    expect(isCacheableResponse(r({ content: [...text(''), ...text('Hi')], finishReason: 'stop' }))).toBe(true);
  });

  it('refuses filtered, errored, empty or unmetered answers', () => {
    expect(isCacheableResponse(r({ content: text('Hi'), finishReason: 'content_filter' }))).toBe(false);
    expect(isCacheableResponse(r({ content: text('Hi'), finishReason: 'error' }))).toBe(false);
    expect(isCacheableResponse(r({ content: [], finishReason: 'stop' }))).toBe(false);
    expect(isCacheableResponse(r({ content: text(''), finishReason: 'length' }))).toBe(false);
    expect(isCacheableResponse({ ...RESPONSE, usage: undefined })).toBe(false);
    expect(isCacheableResponse(r({ content: text('Hi'), finishReason: 'tool_calls' }))).toBe(false);
  });

  it('refuses cut-off tool arguments even after length (other APIs can only show an object)', () => {
    const cut = r({ content: [{ type: 'tool_call', id: 'c', name: 'f', arguments: '{"a":' }], finishReason: 'length' });
    expect(isCacheableResponse(cut)).toBe(false);
    const blank = r({ content: [{ type: 'tool_call', id: 'c', name: 'f', arguments: '' }], finishReason: 'tool_calls' });
    expect(isCacheableResponse(blank)).toBe(false);
  });

  it('refuses what is not a canonical response', () => {
    for (const v of [null, undefined, 'x', 1, [], {}, { ...RESPONSE, id: 1 }]) expect(isCacheableResponse(v)).toBe(false);
  });
});

describe('entryUsage', () => {
  it('reads usage in the gateway’s terms from both kinds', () => {
    expect(entryUsage({ kind: 'canonical', response: RESPONSE })).toEqual(USAGE);
    expect(entryUsage({ kind: 'openai', completion: TEXT })).toEqual({ inputTokens: 1117, outputTokens: 14, cachedInputTokens: 0, reasoningTokens: 0 });
  });
});

describe('ResponseCache', () => {
  const make = (maxEntryBytes = 1 << 20) => {
    const store = createMemoryStore({ maxBytes: 1 << 22 });
    return { store, cache: new ResponseCache({ store, ttlSeconds: 60, maxEntryBytes, log: rootLogger }) };
  };
  const key = cacheKey({ tenant: 'acme', format: 'anthropic', model: 'anthropic/claude', request: { messages: [] } });

  it('puts and gets both kinds', async () => {
    const { cache } = make();
    for (const [, entry] of ENTRIES) {
      expect(await cache.put(key, entry)).toBe(true);
      expect(await cache.get(key)).toEqual(entry);
    }
  });

  it('drops a corrupt entry and answers a miss', async () => {
    const { store, cache } = make();
    await store.set(key, Buffer.from('{"v":2,"kind":"canonical","response":{"id":'), 60);
    expect(await cache.get(key)).toBeUndefined();
    expect(await store.get(key)).toBeUndefined();
  });

  it('skips entries over the size limit', async () => {
    const { store, cache } = make(200);
    expect(
      await cache.put(key, { kind: 'canonical', response: { ...RESPONSE, content: [{ type: 'text', text: 'x'.repeat(300) }], finishReason: 'stop' } }),
    ).toBe(false);
    expect(await store.get(key)).toBeUndefined();
  });

  it('keeps the legacy save/lookup of the current exchange working, in the same envelope', async () => {
    const { cache } = make();
    const bytes = Buffer.from(JSON.stringify(TEXT), 'utf8');
    expect(await cache.save(key, bytes)).toBe(true);
    expect(await cache.lookup(key)).toEqual(TEXT);
    expect(await cache.get(key)).toEqual({ kind: 'openai', completion: TEXT });
    await cache.put(key, { kind: 'canonical', response: RESPONSE });
    expect(await cache.lookup(key)).toBeUndefined();
  });
});
