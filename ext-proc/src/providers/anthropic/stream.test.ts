import { readFileSync } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import type { StreamEvent } from '../canonical/types.js';
import { AnthropicStreamDecoder, AnthropicStreamEncoder } from './stream.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

function decodeChunks(chunks: readonly Buffer[]): StreamEvent[] {
  const d = new AnthropicStreamDecoder();
  const out: StreamEvent[] = [];
  for (const c of chunks) out.push(...d.push(c));
  out.push(...d.end());
  return out;
}

const decode = (buf: Buffer): StreamEvent[] => decodeChunks([buf]);

/** Joins adjacent text events and adjacent deltas of one tool call: splits may cut them differently. */
function normalise(events: readonly StreamEvent[]): StreamEvent[] {
  const out: StreamEvent[] = [];
  for (const e of events) {
    const prev = out[out.length - 1];
    if (e.type === 'text' && prev?.type === 'text') out[out.length - 1] = { type: 'text', text: prev.text + e.text };
    else if (e.type === 'tool_call_delta' && prev?.type === 'tool_call_delta' && prev.index === e.index) {
      out[out.length - 1] = { ...prev, arguments: prev.arguments + e.arguments };
    } else out.push(e);
  }
  return out;
}

const BASIC_EVENTS: StreamEvent[] = [
  { type: 'start', id: 'msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY', model: 'claude-sonnet-4-5-20250929' },
  { type: 'text', text: 'Hello' },
  { type: 'text', text: '! ¿Qué tal?' },
  { type: 'text', text: ' ☀️ 🌍' },
  { type: 'finish', reason: 'stop' },
  { type: 'usage', usage: { inputTokens: 25, outputTokens: 15, cachedInputTokens: 0, reasoningTokens: 0 } },
];

const TOOL_ARGUMENTS = '{"location": "San Francisco, CA", "unit": "fahrenheit"}';

describe('AnthropicStreamDecoder', () => {
  it('decodes the documented text stream', () => {
    expect(decode(fixture('messages-stream.sse'))).toEqual(BASIC_EVENTS);
  });

  it('decodes the documented tool use stream: text, then one tool call whose argument pieces join to its input', () => {
    const events = decode(fixture('messages-stream-tool-use.sse'));
    const n = normalise(events);
    expect(n).toEqual([
      { type: 'start', id: 'msg_014p7gG3wDgGV9EUtLvnow3U', model: 'claude-sonnet-4-5-20250929' },
      { type: 'text', text: "Okay, let's check the weather for San Francisco, CA:" },
      { type: 'tool_call_start', index: 0, id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', name: 'get_weather' },
      { type: 'tool_call_delta', index: 0, arguments: TOOL_ARGUMENTS },
      { type: 'finish', reason: 'tool_calls' },
      { type: 'usage', usage: { inputTokens: 472, outputTokens: 89, cachedInputTokens: 0, reasoningTokens: 0 } },
    ]);
    // Pieces pass through as they come (the empty first one is left out), not joined.
    expect(events.filter((e) => e.type === 'tool_call_delta')).toHaveLength(8);
    expect(JSON.parse(TOOL_ARGUMENTS)).toEqual({ location: 'San Francisco, CA', unit: 'fahrenheit' });
  });

  it('takes the latest of each usage counter: input repeated in message_delta, cache reads counted in', () => {
    const events = decode(fixture('messages-stream-cache.sse'));
    expect(events.slice(-2)).toEqual([
      { type: 'finish', reason: 'length' },
      { type: 'usage', usage: { inputTokens: 2060, outputTokens: 5, cachedInputTokens: 2048, reasoningTokens: 0 } },
    ]);
  });

  it('leaves thinking out and reports thinking tokens as reasoning', () => {
    expect(normalise(decode(fixture('messages-stream-thinking.sse')))).toEqual([
      { type: 'start', id: 'msg_01JfFfDmGvSQb7DEUYrW3yQC', model: 'claude-sonnet-4-5-20250929' },
      { type: 'text', text: 'The greatest common divisor of 1071 and 462 is **21**.' },
      { type: 'finish', reason: 'stop' },
      { type: 'usage', usage: { inputTokens: 42, outputTokens: 120, cachedInputTokens: 0, reasoningTokens: 95 } },
    ]);
  });

  it('turns an error event into an error with the status of its type, and still reports the input usage it saw', () => {
    expect(decode(fixture('messages-stream-error.sse'))).toEqual([
      { type: 'start', id: 'msg_01Vq1jWw4ufKRR6sMWSYaQ1V', model: 'claude-sonnet-4-5-20250929' },
      { type: 'text', text: 'Partial' },
      { type: 'error', message: 'Overloaded', status: 529 },
      { type: 'usage', usage: { inputTokens: 30, outputTokens: 1, cachedInputTokens: 0, reasoningTokens: 0 } },
    ]);
  });

  for (const name of ['messages-stream.sse', 'messages-stream-tool-use.sse', 'messages-stream-cache.sse', 'messages-stream-thinking.sse']) {
    it(`${name}: the same events whatever byte offset splits it (including inside multi-byte characters)`, () => {
      const buf = fixture(name);
      const whole = normalise(decode(buf));
      for (let i = 0; i <= buf.length; i++) {
        expect(normalise(decodeChunks([buf.subarray(0, i), buf.subarray(i)]))).toEqual(whole);
      }
    });

    it(`${name}: the same events fed one byte at a time and with CRLF framing`, () => {
      const buf = fixture(name);
      const whole = normalise(decode(buf));
      const bytes = [...buf].map((b) => Buffer.from([b]));
      expect(normalise(decodeChunks(bytes))).toEqual(whole);
      const crlf = Buffer.from(buf.toString('utf8').replace(/\n/g, '\r\n'), 'utf8');
      expect(normalise(decode(crlf))).toEqual(whole);
      for (let i = 0; i <= crlf.length; i += 7) expect(normalise(decodeChunks([crlf.subarray(0, i), crlf.subarray(i)]))).toEqual(whole);
    });
  }

  it('emits each event as soon as its bytes are complete', () => {
    const d = new AnthropicStreamDecoder();
    const text = fixture('messages-stream.sse').toString('utf8');
    const firstDelta = text.indexOf('event: content_block_delta');
    const afterFirstDelta = text.indexOf('\n\n', firstDelta) + 2;
    expect(d.push(Buffer.from(text.slice(0, afterFirstDelta - 1)))).toEqual([BASIC_EVENTS[0]]);
    expect(d.push(Buffer.from(text.slice(afterFirstDelta - 1, afterFirstDelta)))).toEqual([BASIC_EVENTS[1]]);
  });

  it('flushes a last event whose blank line never came', () => {
    const text = fixture('messages-stream.sse').toString('utf8');
    const cut = text.slice(0, text.indexOf('event: message_stop'));
    const noBlankLine = cut.replace(/\n\n$/, '');
    const d = new AnthropicStreamDecoder();
    const early = d.push(Buffer.from(noBlankLine));
    expect(early.some((e) => e.type === 'finish')).toBe(false);
    const late = d.end();
    expect(late).toEqual(BASIC_EVENTS.slice(-2));
  });

  it('ignores a final event cut inside its JSON, and reports no usage or finish it never saw', () => {
    const text = fixture('messages-stream.sse').toString('utf8');
    const cut = text.slice(0, text.indexOf('"stop_reason": "end_turn"'));
    const events = decode(Buffer.from(cut));
    expect(events.some((e) => e.type === 'finish')).toBe(false);
    // The message_start usage (input known) is still reported for metering.
    expect(events[events.length - 1]).toEqual({ type: 'usage', usage: { inputTokens: 25, outputTokens: 1, cachedInputTokens: 0, reasoningTokens: 0 } });
  });

  it('reports no usage for a stream that carries none', () => {
    const sse =
      'event: message_start\ndata: {"type":"message_start","message":{"id":"m","model":"x"}}\n\n' +
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"}}\n\n' +
      'event: message_stop\ndata: {"type":"message_stop"}\n\n';
    expect(decode(Buffer.from(sse))).toEqual([
      { type: 'start', id: 'm', model: 'x' },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  it('gives a tool call without input deltas its start input, or the empty object, as arguments', () => {
    const sse = (input: string, deltas: string[]) =>
      'event: message_start\ndata: {"type":"message_start","message":{"id":"m","model":"x"}}\n\n' +
      `event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"now","input":${input}}}\n\n` +
      deltas
        .map(
          (p) =>
            `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":${JSON.stringify(p)}}}\n\n`,
        )
        .join('') +
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n';
    const args = (events: StreamEvent[]) => events.filter((e) => e.type === 'tool_call_delta').map((e) => (e as { arguments: string }).arguments);
    expect(args(decode(Buffer.from(sse('{}', []))))).toEqual(['{}']);
    expect(args(decode(Buffer.from(sse('{}', [''])))).join('')).toBe('{}');
    expect(args(decode(Buffer.from(sse('{"tz":"UTC"}', []))))).toEqual(['{"tz":"UTC"}']);
    expect(args(decode(Buffer.from(sse('{}', ['{"a":', '1}']))))).toEqual(['{"a":', '1}']);
  });

  it('numbers tool calls from 0 whatever their block index, and ignores deltas of unknown blocks and unknown events', () => {
    const sse =
      'event: content_block_start\ndata: {"type":"content_block_start","index":3,"content_block":{"type":"tool_use","id":"toolu_a","name":"a","input":{}}}\n\n' +
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":3,"delta":{"type":"input_json_delta","partial_json":"{}"}}\n\n' +
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":9,"delta":{"type":"text_delta","text":"lost"}}\n\n' +
      'event: brand_new\ndata: {"type":"brand_new"}\n\n' +
      'event: ping\ndata: {"type": "ping"}\n\n' +
      'data: not json\n\n' +
      'event: content_block_start\ndata: {"type":"content_block_start","index":4,"content_block":{"type":"tool_use","id":"toolu_b","name":"b","input":{}}}\n\n';
    expect(decode(Buffer.from(sse))).toEqual([
      { type: 'tool_call_start', index: 0, id: 'toolu_a', name: 'a' },
      { type: 'tool_call_delta', index: 0, arguments: '{}' },
      { type: 'tool_call_start', index: 1, id: 'toolu_b', name: 'b' },
    ]);
  });
});

// ---------------------------------------------------------------------------

const CTX = { id: 'msg_gw123', model: 'claude-caller', created: 1_700_000_000, includeUsage: false };
const USAGE = { inputTokens: 40, outputTokens: 7, cachedInputTokens: 10, reasoningTokens: 0 };

interface Sse {
  event: string;
  data: Record<string, unknown>;
}

function parseSse(text: string): Sse[] {
  expect(text === '' || text.endsWith('\n\n')).toBe(true);
  return text
    .split('\n\n')
    .filter((b) => b !== '')
    .map((block) => {
      const lines = block.split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]!.startsWith('event: ')).toBe(true);
      expect(lines[1]!.startsWith('data: ')).toBe(true);
      const data = JSON.parse(lines[1]!.slice(6)) as Record<string, unknown>;
      const event = lines[0]!.slice(7);
      if (event !== 'error') expect(data.type).toBe(event);
      return { event, data };
    });
}

const names = (s: Sse[]) => s.map((e) => e.event);

function encodeAll(events: StreamEvent[], aborted = false): string {
  const enc = new AnthropicStreamEncoder(CTX);
  return enc.encode(events) + enc.end(aborted);
}

/** An Anthropic SDK client whose HTTP answer is the given SSE text. */
function sdkOver(sse: string): Anthropic {
  return new Anthropic({
    apiKey: 'test-key',
    baseURL: 'http://sdk.invalid',
    maxRetries: 0,
    fetch: async () => new Response(sse, { status: 200, headers: { 'content-type': 'text/event-stream', 'request-id': 'req_test' } }),
  });
}

const PARAMS = { model: 'claude-caller', max_tokens: 100, messages: [{ role: 'user' as const, content: 'Hi' }] };

describe('AnthropicStreamEncoder', () => {
  it('writes the documented sequence, usage unknown at the start and final in message_delta', () => {
    const out = parseSse(
      encodeAll([
        { type: 'start', id: 'chatcmpl-x', model: 'gpt-4o' },
        { type: 'text', text: 'Hel' },
        { type: 'text', text: 'lo' },
        { type: 'finish', reason: 'stop' },
        { type: 'usage', usage: USAGE },
      ]),
    );
    expect(names(out)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(out[0]!.data).toEqual({
      type: 'message_start',
      message: {
        id: 'msg_gw123',
        type: 'message',
        role: 'assistant',
        model: 'claude-caller',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      },
    });
    expect(out[1]!.data).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    expect(out[3]!.data).toEqual({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } });
    expect(out[5]!.data).toEqual({ type: 'content_block_stop', index: 0 });
    expect(out[6]!.data).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { input_tokens: 30, output_tokens: 7, cache_creation_input_tokens: 0, cache_read_input_tokens: 10 },
    });
  });

  it('writes each text delta as soon as it arrives', () => {
    const enc = new AnthropicStreamEncoder(CTX);
    expect(names(parseSse(enc.encode([{ type: 'start', id: 'a', model: 'b' }])))).toEqual(['message_start']);
    expect(names(parseSse(enc.encode([{ type: 'text', text: 'one' }])))).toEqual(['content_block_start', 'ping', 'content_block_delta']);
    expect(parseSse(enc.encode([{ type: 'text', text: ' two' }]))).toEqual([
      { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' two' } } },
    ]);
    expect(enc.encode([{ type: 'text', text: '' }])).toBe('');
    // Finish alone waits for usage (it follows in OpenAI streams) or the end of the stream.
    expect(enc.encode([{ type: 'finish', reason: 'length' }])).toBe('');
    const rest = parseSse(enc.end(false));
    expect(names(rest)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(rest[1]!.data).toEqual({ type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { output_tokens: 0 } });
  });

  it('ends the message as soon as both finish and usage are known, in either order', () => {
    const enc = new AnthropicStreamEncoder(CTX);
    enc.encode([
      { type: 'start', id: 'a', model: 'b' },
      { type: 'text', text: 'x' },
      { type: 'usage', usage: USAGE },
    ]);
    expect(names(parseSse(enc.encode([{ type: 'finish', reason: 'stop' }])))).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(enc.end(false)).toBe('');
    expect(enc.end(true)).toBe('');
  });

  it('gives each tool call its own block after any text, with argument pieces as input_json_delta', () => {
    const out = parseSse(
      encodeAll([
        { type: 'start', id: 'a', model: 'b' },
        { type: 'text', text: 'Checking both.' },
        { type: 'tool_call_start', index: 0, id: 'call_1', name: 'get_weather' },
        { type: 'tool_call_delta', index: 0, arguments: '{"city":' },
        { type: 'tool_call_delta', index: 0, arguments: '"Paris"}' },
        { type: 'tool_call_start', index: 1, id: 'call_2', name: 'get_weather' },
        { type: 'tool_call_delta', index: 1, arguments: '{"city":"Rome"}' },
        { type: 'finish', reason: 'tool_calls' },
        { type: 'usage', usage: USAGE },
      ]),
    );
    expect(names(out)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(out[5]!.data).toEqual({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'call_1', name: 'get_weather', input: {} } });
    expect(out[7]!.data).toEqual({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '"Paris"}' } });
    expect(out[9]!.data).toMatchObject({ index: 2, content_block: { id: 'call_2' } });
    expect(out[12]!.data).toMatchObject({ delta: { stop_reason: 'tool_use' } });
  });

  it('an aborted stream ends with an api_error event and nothing after it', () => {
    const enc = new AnthropicStreamEncoder(CTX);
    enc.encode([
      { type: 'start', id: 'a', model: 'b' },
      { type: 'text', text: 'half' },
    ]);
    const out = parseSse(enc.end(true));
    expect(out).toEqual([{ event: 'error', data: { type: 'error', error: { type: 'api_error', message: expect.any(String) } } }]);
    expect(enc.encode([{ type: 'text', text: 'late' }])).toBe('');
    expect(enc.end(true)).toBe('');
  });

  it('a backend error event becomes an error event of the matching type and ends the stream', () => {
    const enc = new AnthropicStreamEncoder(CTX);
    const out = parseSse(
      enc.encode([
        { type: 'start', id: 'a', model: 'b' },
        { type: 'error', message: 'Overloaded', status: 529 },
        { type: 'text', text: 'late' },
      ]),
    );
    expect(out[1]).toEqual({ event: 'error', data: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } });
    expect(out).toHaveLength(2);
    expect(enc.end(true)).toBe('');
  });

  it('a stream with no events still ends as a whole, empty message', () => {
    expect(names(parseSse(encodeAll([])))).toEqual(['message_start', 'message_delta', 'message_stop']);
  });

  it('decoding what it encodes gives back the events', () => {
    const events = decode(fixture('messages-stream-tool-use.sse'));
    const reencoded = Buffer.from(encodeAll(events), 'utf8');
    const again = decode(reencoded);
    expect(normalise(again.slice(1))).toEqual(normalise(events.slice(1)));
    expect(again[0]).toEqual({ type: 'start', id: 'msg_gw123', model: 'claude-caller' });
  });
});

describe('AnthropicStreamEncoder read by the official SDK', () => {
  it('MessageStream takes input_tokens from message_delta when message_start had none', async () => {
    const sse = encodeAll([
      { type: 'start', id: 'x', model: 'y' },
      { type: 'text', text: 'Hello' },
      { type: 'text', text: ' there' },
      { type: 'finish', reason: 'stop' },
      { type: 'usage', usage: USAGE },
    ]);
    const stream = sdkOver(sse).messages.stream(PARAMS);
    const texts: string[] = [];
    stream.on('text', (t) => texts.push(t));
    const final = await stream.finalMessage();
    expect(texts).toEqual(['Hello', ' there']);
    expect(final.id).toBe('msg_gw123');
    expect(final.content).toEqual([{ type: 'text', text: 'Hello there' }]);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.input_tokens).toBe(30);
    expect(final.usage.cache_read_input_tokens).toBe(10);
    expect(final.usage.output_tokens).toBe(7);
  });

  it('MessageStream assembles tool_use input from the argument pieces', async () => {
    const sse = encodeAll([
      { type: 'start', id: 'x', model: 'y' },
      { type: 'tool_call_start', index: 0, id: 'call_1', name: 'get_weather' },
      { type: 'tool_call_delta', index: 0, arguments: '{"city":' },
      { type: 'tool_call_delta', index: 0, arguments: '"Paris"}' },
      { type: 'usage', usage: USAGE },
      { type: 'finish', reason: 'tool_calls' },
    ]);
    const final = await sdkOver(sse).messages.stream(PARAMS).finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content).toEqual([{ type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } }]);
  });

  it('the SDK raises an API error for an aborted stream instead of returning a short answer', async () => {
    const sse = encodeAll(
      [
        { type: 'start', id: 'x', model: 'y' },
        { type: 'text', text: 'half' },
      ],
      true,
    );
    const err = await sdkOver(sse)
      .messages.stream(PARAMS)
      .finalMessage()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'api_error' } });
  });

  it('create({stream:true}) iterates the raw events including message_delta usage', async () => {
    const sse = encodeAll([
      { type: 'text', text: 'no start event' },
      { type: 'usage', usage: USAGE },
      { type: 'finish', reason: 'length' },
    ]);
    const types: string[] = [];
    let deltaUsage: unknown;
    for await (const ev of await sdkOver(sse).messages.create({ ...PARAMS, stream: true })) {
      types.push(ev.type);
      if (ev.type === 'message_delta') deltaUsage = ev.usage;
    }
    expect(types).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(deltaUsage).toMatchObject({ input_tokens: 30, output_tokens: 7 });
  });
});
