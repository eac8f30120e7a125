import { readFileSync } from 'node:fs';
import { ChatCompletionStream } from 'openai/lib/ChatCompletionStream';
import { Stream } from 'openai/streaming';
import { describe, expect, it } from 'vitest';
import { ChatStreamAssembler, isCacheableCompletion } from './assemble.js';
import { replayJson, replaySse, splitText } from './replay.js';
import type { ChatCompletion } from './types.js';

const json = <T = ChatCompletion>(path: string): T => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as T;

const TEXT = json('./fixtures/text.completion.json');
const TOOLS = json('./fixtures/tool-calls.completion.json');
const N2 = json('./fixtures/n2.completion.json');

const NEW = { id: 'chatcmpl-gw-0001', created: 1760000000 };

/** Parses an SSE body strictly as replaySse must write it: `data: <json>\n\n` events, `data: [DONE]\n\n` last. */
function parseStrict(body: Buffer): { chunks: Record<string, any>[]; done: boolean } {
  const s = body.toString('utf8');
  expect(s.endsWith('data: [DONE]\n\n')).toBe(true);
  const events = s.slice(0, -2).split('\n\n');
  const chunks: Record<string, any>[] = [];
  let done = false;
  for (const e of events) {
    expect(e.startsWith('data: ')).toBe(true);
    expect(e.includes('\n')).toBe(false);
    const data = e.slice(6);
    if (data === '[DONE]') {
      expect(done).toBe(false);
      done = true;
    } else {
      expect(done).toBe(false);
      chunks.push(JSON.parse(data) as Record<string, any>);
    }
  }
  return { chunks, done };
}

function reassemble(body: Buffer): ChatCompletion | undefined {
  const { chunks, done } = parseStrict(body);
  const a = new ChatStreamAssembler();
  for (const c of chunks) a.push(c);
  if (done) a.done();
  return a.result();
}

const renamed = (c: ChatCompletion): ChatCompletion => ({ ...c, ...NEW });

/** Completions beyond the fixtures that exercise every replay path. */
const tok = (t: string) => ({ token: t, logprob: -0.25, bytes: [...Buffer.from(t)], top_logprobs: [] });
const EXTRA: [string, ChatCompletion][] = [
  [
    'refusal',
    {
      ...TEXT,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: null, refusal: "I'm sorry, but I can't help with that request." },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
    },
  ],
  [
    'length, long multilingual content with emoji',
    {
      ...TEXT,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Voilà 😀 — 東京の天気は晴れです。'.repeat(120), refusal: null },
          logprobs: null,
          finish_reason: 'length',
        },
      ],
    },
  ],
  ['empty content', { ...TEXT, choices: [{ index: 0, message: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: 'length' }] }],
  [
    'logprobs',
    {
      ...TEXT,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hello world', refusal: null },
          logprobs: { content: [tok('Hello'), tok(' world')], refusal: null },
          finish_reason: 'stop',
        },
      ],
    },
  ],
  [
    'text and tool calls with long arguments',
    {
      ...TOOLS,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Let me check both cities.',
            refusal: null,
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'search', arguments: JSON.stringify({ q: 'x'.repeat(500), n: [1, 2, 3] }) } },
              { id: 'call_2', type: 'function', function: { name: 'noop', arguments: '{}' } },
            ],
          },
          logprobs: null,
          finish_reason: 'tool_calls',
        },
      ],
    },
  ],
  [
    'deprecated function_call',
    {
      ...TEXT,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: null, refusal: null, function_call: { name: 'lookup', arguments: '{"q":"x"}' } },
          logprobs: null,
          finish_reason: 'function_call',
        },
      ],
    },
  ],
];

const ALL: [string, ChatCompletion][] = [['text', TEXT], ['two tool calls', TOOLS], ['n=2', N2], ...EXTRA];

describe('replayJson', () => {
  it.each(ALL)('parses back to the %s completion under the new id and created', (_name, c) => {
    const body = replayJson(c, NEW);
    expect(JSON.parse(body.toString('utf8'))).toEqual(renamed(c));
  });

  it('keeps fields it does not know and the stored key order', () => {
    const stored = json<ChatCompletion>('../providers/openai/fixtures/chat-response.json');
    const out = JSON.parse(replayJson(stored, NEW).toString('utf8')) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(Object.keys(stored));
    expect(out).toEqual({ ...stored, ...NEW });
    expect(stored.id).toBe('chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT'); // input untouched
  });
});

describe('replaySse', () => {
  it.each(ALL)('round-trips the %s completion through ChatStreamAssembler', (_name, c) => {
    for (const includeUsage of [true, false]) {
      const out = reassemble(replaySse(c, { ...NEW, includeUsage }));
      const expected = renamed(c);
      if (!includeUsage) delete expected.usage;
      expect(out).toEqual(expected);
    }
  });

  it('writes the documented chunk shapes', () => {
    const { chunks } = parseStrict(replaySse(TOOLS, { ...NEW, includeUsage: true }));
    for (const ch of chunks) {
      expect(ch).toMatchObject({
        id: NEW.id,
        object: 'chat.completion.chunk',
        created: NEW.created,
        model: TOOLS.model,
        system_fingerprint: TOOLS.system_fingerprint,
        service_tier: 'default',
      });
      expect(ch).toHaveProperty('usage');
    }
    expect(chunks.slice(0, -1).every((ch) => ch.usage === null && ch.choices.length === 1)).toBe(true);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: TOOLS.usage });
    expect(chunks[0]!.choices[0]).toEqual({ index: 0, delta: { role: 'assistant', content: null, refusal: null }, logprobs: null, finish_reason: null });
    // Each call opens with index/id/type/name and the first piece of its arguments; the rest follow by index alone.
    const calls = TOOLS.choices[0]!.message.tool_calls!;
    for (const [i, call] of calls.entries()) {
      const deltas = chunks.map((ch) => ch.choices[0]?.delta.tool_calls?.[0]).filter((d) => d?.index === i);
      expect(deltas[0]).toEqual({
        index: i,
        id: call.id,
        type: 'function',
        function: { name: 'get_weather', arguments: call.function.arguments.slice(0, 32) },
      });
      expect(deltas.slice(1)).toEqual([{ index: i, function: { arguments: call.function.arguments.slice(32) } }]);
    }
    expect(chunks.at(-2)!.choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'tool_calls' });
  });

  it('starts a text answer with role and empty content, and leaves usage out entirely without includeUsage', () => {
    const { chunks } = parseStrict(replaySse(N2, { ...NEW, includeUsage: false }));
    for (const ch of chunks) expect(ch).not.toHaveProperty('usage');
    for (const i of [0, 1]) {
      const mine = chunks.filter((ch) => ch.choices[0].index === i).map((ch) => ch.choices[0]);
      expect(mine[0]).toEqual({ index: i, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null });
      expect(mine.at(-1)).toEqual({ index: i, delta: {}, logprobs: null, finish_reason: 'stop' });
      expect(
        mine
          .slice(1, -1)
          .map((c) => c.delta.content)
          .join(''),
      ).toBe(N2.choices[i]!.message.content);
    }
  });

  it('sends content in 1 to 4 pieces', () => {
    const count = (c: ChatCompletion) =>
      parseStrict(replaySse(c, { ...NEW, includeUsage: false })).chunks.filter(
        (ch) => typeof ch.choices[0]?.delta.content === 'string' && ch.choices[0].delta.content !== '',
      ).length;
    expect(count(TEXT)).toBe(3); // 73 characters in pieces of at least 32
    expect(count(EXTRA[1]![1])).toBe(4);
    expect(count({ ...TEXT, choices: [{ ...TEXT.choices[0]!, message: { role: 'assistant', content: 'Hi', refusal: null } }] })).toBe(1);
  });

  it('omits the usage chunk when none was stored', () => {
    const { chunks } = parseStrict(replaySse(N2, { ...NEW, includeUsage: true }));
    expect(chunks.every((ch) => ch.usage === null && ch.choices.length === 1)).toBe(true);
  });

  it('every replayed completion is still cacheable (fixtures with usage)', () => {
    for (const [name, c] of ALL) {
      if (c.usage) expect(isCacheableCompletion(reassemble(replaySse(c, { ...NEW, includeUsage: true }))), name).toBe(true);
    }
  });
});

describe('splitText', () => {
  it('splits into at most 4 pieces of at least 32 characters that join back', () => {
    expect(splitText('')).toEqual([]);
    expect(splitText('short')).toEqual(['short']);
    expect(splitText('x'.repeat(64))).toEqual(['x'.repeat(32), 'x'.repeat(32)]);
    for (const n of [1, 31, 32, 33, 100, 128, 129, 1000, 9999]) {
      const s = 'a'.repeat(n);
      const pieces = splitText(s);
      expect(pieces.join('')).toBe(s);
      expect(pieces.length).toBeLessThanOrEqual(4);
      expect(pieces.slice(0, -1).every((p) => p.length >= 32)).toBe(true);
    }
  });

  it('never splits a surrogate pair', () => {
    for (let shift = 0; shift < 4; shift++) {
      const s = 'a'.repeat(shift) + '😀'.repeat(50);
      const pieces = splitText(s);
      expect(pieces.join('')).toBe(s);
      // A lone surrogate does not survive a UTF-8 round trip.
      for (const p of pieces) expect(Buffer.from(p, 'utf8').toString('utf8')).toBe(p);
    }
  });
});

describe('replaySse read by the official openai SDK', () => {
  async function sdkChunks(body: Buffer): Promise<unknown[]> {
    const stream = Stream.fromSSEResponse<unknown>(new Response(body), new AbortController());
    const out: unknown[] = [];
    for await (const chunk of stream) out.push(chunk);
    return out;
  }

  it.each(ALL)('Stream.fromSSEResponse yields the same chunks for the %s completion', async (_name, c) => {
    const body = replaySse(c, { ...NEW, includeUsage: true });
    expect(await sdkChunks(body)).toEqual(parseStrict(body).chunks);
  });

  it.each(ALL)("the SDK's ChatCompletionStream accumulates the %s replay into the stored completion", async (_name, c) => {
    const body = replaySse(c, { ...NEW, includeUsage: true });
    const sdkStream = Stream.fromSSEResponse(new Response(body), new AbortController());
    const final = await ChatCompletionStream.fromReadableStream(sdkStream.toReadableStream()).finalChatCompletion();
    const expected = renamed(c);
    expect(final).toMatchObject({
      id: expected.id,
      created: expected.created,
      model: expected.model,
      object: 'chat.completion',
      system_fingerprint: expected.system_fingerprint,
    });
    expect(final.choices).toHaveLength(expected.choices.length);
    for (const [i, ch] of expected.choices.entries()) {
      const got = final.choices[i]!;
      expect(got.index).toBe(ch.index);
      expect(got.finish_reason).toBe(ch.finish_reason);
      expect(got.logprobs ?? null).toEqual(ch.logprobs);
      // The SDK's accumulator reports an empty answer as null.
      expect(got.message.content).toBe(ch.message.content === '' ? null : ch.message.content);
      expect(got.message.refusal).toBe(ch.message.refusal);
      expect(got.message.tool_calls).toEqual(ch.message.tool_calls);
      expect(got.message.function_call).toEqual(ch.message.function_call);
    }
  });
});
