import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ollama } from 'ollama';
import { describe, expect, it } from 'vitest';
import type { StreamEvent } from '../canonical/types.js';
import { OllamaStreamDecoder, OllamaStreamEncoder, type EncoderClock } from './stream.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
const usage = (inputTokens: number, outputTokens: number) => ({ inputTokens, outputTokens, cachedInputTokens: 0, reasoningTokens: 0 });

function decodeAll(chunks: Buffer[]): StreamEvent[] {
  const d = new OllamaStreamDecoder();
  return [...chunks.flatMap((c) => d.push(c)), ...d.end()];
}

/** Ids are random per stream; tests compare everything else. */
const withoutStartId = (events: StreamEvent[]) => events.map((e) => (e.type === 'start' ? { ...e, id: '<id>' } : e));

/** Adjacent text events merged: where a chunk boundary falls must not change the text. */
function normalise(events: StreamEvent[]): StreamEvent[] {
  const out: StreamEvent[] = [];
  for (const e of withoutStartId(events)) {
    const last = out[out.length - 1];
    if (e.type === 'text' && last?.type === 'text') out[out.length - 1] = { type: 'text', text: last.text + e.text };
    else out.push(e);
  }
  return out;
}

const STREAM_EVENTS: StreamEvent[] = [
  { type: 'start', id: '<id>', model: 'llama3.2' },
  { type: 'text', text: 'The' },
  { type: 'text', text: ' sky' },
  { type: 'text', text: ' is' },
  { type: 'text', text: ' blue.' },
  { type: 'finish', reason: 'stop' },
  { type: 'usage', usage: usage(26, 282) },
];

const line = (obj: unknown) => `${JSON.stringify(obj)}\n`;
const chunkLine = (content: string, extra: Record<string, unknown> = {}) =>
  line({ model: 'llama3.2', created_at: '2024-01-01T00:00:00Z', message: { role: 'assistant', content, ...extra }, done: false });
const doneLine = (extra: Record<string, unknown> = {}) =>
  line({
    model: 'llama3.2',
    created_at: '2024-01-01T00:00:01Z',
    message: { role: 'assistant', content: '' },
    done: true,
    done_reason: 'stop',
    prompt_eval_count: 10,
    eval_count: 4,
    ...extra,
  });

describe('OllamaStreamDecoder', () => {
  it('the documented stream', () => {
    expect(withoutStartId(decodeAll([fixture('chat-stream.ndjson')]))).toEqual(STREAM_EVENTS);
  });

  it('the documented tool call stream: whole call in one line, finish tool_calls', () => {
    expect(withoutStartId(decodeAll([fixture('chat-stream-tools.ndjson')]))).toEqual([
      { type: 'start', id: '<id>', model: 'llama3.2' },
      { type: 'tool_call_start', index: 0, id: 'call_0', name: 'get_current_weather' },
      { type: 'tool_call_delta', index: 0, arguments: '{"format":"celsius","location":"Paris, FR"}' },
      { type: 'finish', reason: 'tool_calls' },
      { type: 'usage', usage: usage(122, 33) },
    ]);
  });

  it('tool calls on separate lines keep counting', () => {
    const events = decodeAll([
      Buffer.from(
        chunkLine('', { tool_calls: [{ function: { name: 'a', arguments: { x: 1 } } }] }) +
          chunkLine('', { tool_calls: [{ function: { name: 'b', arguments: {} } }, { function: { name: 'c', arguments: { y: 'z' } } }] }) +
          doneLine(),
      ),
    ]);
    expect(events.filter((e) => e.type === 'tool_call_start')).toEqual([
      { type: 'tool_call_start', index: 0, id: 'call_0', name: 'a' },
      { type: 'tool_call_start', index: 1, id: 'call_1', name: 'b' },
      { type: 'tool_call_start', index: 2, id: 'call_2', name: 'c' },
    ]);
    expect(events.find((e) => e.type === 'finish')).toEqual({ type: 'finish', reason: 'tool_calls' });
  });

  const utf8 = Buffer.from(chunkLine('Le ciel ') + chunkLine('est bleu 🌍 — ça, 日本') + chunkLine('語!') + doneLine({ done_reason: 'length' }), 'utf8');
  const UTF8_EVENTS: StreamEvent[] = [
    { type: 'start', id: '<id>', model: 'llama3.2' },
    { type: 'text', text: 'Le ciel est bleu 🌍 — ça, 日本語!' },
    { type: 'finish', reason: 'length' },
    { type: 'usage', usage: usage(10, 4) },
  ];

  it('split in two at every byte offset (including inside multi-byte characters)', () => {
    for (const buf of [fixture('chat-stream.ndjson'), fixture('chat-stream-tools.ndjson'), utf8]) {
      const whole = normalise(decodeAll([buf]));
      for (let i = 0; i <= buf.length; i++) {
        expect(normalise(decodeAll([buf.subarray(0, i), buf.subarray(i)])), `split at ${i}`).toEqual(whole);
      }
    }
    expect(normalise(decodeAll([utf8]))).toEqual(UTF8_EVENTS);
  });

  it('one byte at a time', () => {
    const bytes = [...utf8].map((b) => Buffer.from([b]));
    expect(normalise(decodeAll(bytes))).toEqual(UTF8_EVENTS);
  });

  it('CRLF framing and blank lines', () => {
    const crlf = Buffer.from(fixture('chat-stream.ndjson').toString('utf8').replace(/\n/g, '\r\n\r\n'));
    expect(withoutStartId(decodeAll([crlf]))).toEqual(STREAM_EVENTS);
    for (let i = 0; i <= crlf.length; i += 7) {
      expect(normalise(decodeAll([crlf.subarray(0, i), crlf.subarray(i)]))).toEqual(normalise(STREAM_EVENTS));
    }
  });

  it('the last line without a trailing newline is flushed by end()', () => {
    const text = fixture('chat-stream.ndjson').toString('utf8').trimEnd();
    const d = new OllamaStreamDecoder();
    const pushed = d.push(Buffer.from(text));
    expect(pushed.some((e) => e.type === 'finish')).toBe(false);
    expect(d.end()).toEqual([STREAM_EVENTS[5], STREAM_EVENTS[6]]);
  });

  it('a stream cut off before done has no finish and no usage', () => {
    const events = decodeAll([Buffer.from(chunkLine('Hello') + chunkLine(' wor'))]);
    expect(withoutStartId(events)).toEqual([
      { type: 'start', id: '<id>', model: 'llama3.2' },
      { type: 'text', text: 'Hello' },
      { type: 'text', text: ' wor' },
    ]);
  });

  it('a done line without counts gives finish but no usage', () => {
    const events = decodeAll([
      Buffer.from(chunkLine('x') + line({ model: 'm', message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop' })),
    ]);
    expect(events.map((e) => e.type)).toEqual(['start', 'text', 'finish']);
  });

  it('an error line is an error event, and ends the stream', () => {
    const events = decodeAll([
      Buffer.from(chunkLine('Hi') + line({ error: 'an error was encountered while running the model: unexpected EOF' }) + chunkLine('ignored') + doneLine()),
    ]);
    expect(withoutStartId(events)).toEqual([
      { type: 'start', id: '<id>', model: 'llama3.2' },
      { type: 'text', text: 'Hi' },
      { type: 'error', message: 'an error was encountered while running the model: unexpected EOF', status: 502 },
    ]);
  });

  it('an error as the very first line comes without a start', () => {
    expect(decodeAll([Buffer.from(line({ error: 'model is loading' }))])).toEqual([{ type: 'error', message: 'model is loading', status: 502 }]);
  });

  it.each([
    ['not JSON', 'data: {"x":1}\n'],
    ['not a chat object', line({ model: 'm', message: { content: 42 }, done: false })],
  ])('a line that is %s is an error event', (_name, bad) => {
    const events = decodeAll([Buffer.from(chunkLine('ok') + bad + doneLine())]);
    expect(events.map((e) => e.type)).toEqual(['start', 'text', 'error']);
  });

  it('lines after done are ignored', () => {
    const events = decodeAll([Buffer.from(chunkLine('a') + doneLine() + chunkLine('late'))]);
    expect(events.map((e) => e.type)).toEqual(['start', 'text', 'finish', 'usage']);
  });

  it('thinking is not output text', () => {
    const events = decodeAll([Buffer.from(chunkLine('', { thinking: 'Let me think' }) + chunkLine('Answer') + doneLine())]);
    expect(events.filter((e) => e.type === 'text')).toEqual([{ type: 'text', text: 'Answer' }]);
  });
});

/** A clock the test moves by hand: monotonic ms, wall time fixed. */
function manualClock(): EncoderClock & { advance(ms: number): void } {
  let t = 1000;
  return {
    monotonicMs: () => t,
    now: () => new Date('2024-05-01T12:00:00.000Z'),
    advance(ms: number) {
      t += ms;
    },
  };
}

const ctx = { id: 'resp-1', model: 'caller-model', created: 1_714_564_800, includeUsage: false };
const lines = (s: string) =>
  s
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('OllamaStreamEncoder', () => {
  it('one line per text event, at once; the done line with counts and measured durations at the end', () => {
    const clock = manualClock();
    const enc = new OllamaStreamEncoder(ctx, clock);
    expect(enc.encode([{ type: 'start', id: 'x', model: 'backend' }])).toBe('');
    clock.advance(200);
    const first = enc.encode([{ type: 'text', text: 'The' }]);
    expect(first).toBe(
      `${JSON.stringify({ model: 'caller-model', created_at: '2024-05-01T12:00:00.000Z', message: { role: 'assistant', content: 'The' }, done: false })}\n`,
    );
    clock.advance(50);
    expect(
      lines(
        enc.encode([
          { type: 'text', text: ' sky' },
          { type: 'text', text: '' },
        ]),
      ),
    ).toHaveLength(1);
    clock.advance(30);
    expect(
      enc.encode([
        { type: 'finish', reason: 'stop' },
        { type: 'usage', usage: usage(26, 2) },
      ]),
    ).toBe('');
    clock.advance(20);
    const final = lines(enc.end(false));
    expect(final).toEqual([
      {
        model: 'caller-model',
        created_at: '2024-05-01T12:00:00.000Z',
        message: { role: 'assistant', content: '' },
        done: true,
        done_reason: 'stop',
        total_duration: 300_000_000,
        load_duration: 0,
        prompt_eval_count: 26,
        prompt_eval_duration: 200_000_000,
        eval_count: 2,
        eval_duration: 50_000_000,
      },
    ]);
    expect(enc.end(false)).toBe('');
    expect(enc.encode([{ type: 'text', text: 'late' }])).toBe('');
  });

  it('finish reasons: tool_calls and stop → stop, length → length; missing finish → stop; missing usage leaves counts out', () => {
    const doneReason = (events: StreamEvent[]) => {
      const enc = new OllamaStreamEncoder(ctx);
      enc.encode(events);
      return lines(enc.end(false)).at(-1)!;
    };
    expect(doneReason([{ type: 'finish', reason: 'tool_calls' }]).done_reason).toBe('stop');
    expect(doneReason([{ type: 'finish', reason: 'length' }]).done_reason).toBe('length');
    const bare = doneReason([]);
    expect(bare.done_reason).toBe('stop');
    expect('prompt_eval_count' in bare || 'eval_count' in bare).toBe(false);
  });

  it('a tool call goes out whole, once its streamed arguments form a complete object', () => {
    const enc = new OllamaStreamEncoder(ctx);
    expect(enc.encode([{ type: 'tool_call_start', index: 0, id: 'call_x', name: 'get_weather' }])).toBe('');
    expect(enc.encode([{ type: 'tool_call_delta', index: 0, arguments: '{"city":"Pa' }])).toBe('');
    // A closing brace inside a string is not the end of the object.
    expect(enc.encode([{ type: 'tool_call_delta', index: 0, arguments: 'ris }' }])).toBe('');
    const out = lines(enc.encode([{ type: 'tool_call_delta', index: 0, arguments: '"}' }]));
    expect(out).toEqual([
      {
        model: 'caller-model',
        created_at: expect.any(String),
        message: { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Paris }' } } }] },
        done: false,
      },
    ]);
    // Trailing whitespace after the object changes nothing.
    expect(enc.encode([{ type: 'tool_call_delta', index: 0, arguments: ' \n' }])).toBe('');
    expect(lines(enc.end(false))).toHaveLength(1);
  });

  it('calls with no or blank arguments go out as {} when the next thing arrives', () => {
    const enc = new OllamaStreamEncoder(ctx);
    enc.encode([{ type: 'tool_call_start', index: 0, id: 'a', name: 'noop' }]);
    const out = lines(
      enc.encode([
        { type: 'tool_call_start', index: 1, id: 'b', name: 'other' },
        { type: 'tool_call_delta', index: 1, arguments: '{"k":true}' },
      ]),
    );
    expect(out.map((l) => (l.message as { tool_calls: unknown[] }).tool_calls)).toEqual([
      [{ function: { name: 'noop', arguments: {} } }],
      [{ function: { name: 'other', arguments: { k: true } } }],
    ]);
  });

  it('every arguments split gives the same single call line', () => {
    const args = '{"q":"naïve café 🌍","n":[1,2,{"x":"}"}]}';
    for (let i = 0; i <= args.length; i++) {
      const enc = new OllamaStreamEncoder(ctx);
      let out = enc.encode([
        { type: 'tool_call_start', index: 0, id: 'a', name: 'search' },
        { type: 'tool_call_delta', index: 0, arguments: args.slice(0, i) },
      ]);
      out += enc.encode([{ type: 'tool_call_delta', index: 0, arguments: args.slice(i) }]);
      out += enc.encode([{ type: 'finish', reason: 'tool_calls' }]);
      const calls = lines(out).map((l) => (l.message as { tool_calls: Array<{ function: { arguments: unknown } }> }).tool_calls);
      expect(calls).toEqual([[{ function: { name: 'search', arguments: JSON.parse(args) as unknown } }]]);
    }
  });

  it('arguments that never become an object end the stream with an error line', () => {
    const enc = new OllamaStreamEncoder(ctx);
    enc.encode([
      { type: 'tool_call_start', index: 0, id: 'a', name: 'f' },
      { type: 'tool_call_delta', index: 0, arguments: '{"a":' },
    ]);
    const out = lines(enc.encode([{ type: 'finish', reason: 'tool_calls' }]) + enc.end(false));
    expect(out).toEqual([{ error: "The backend returned arguments for tool 'f' that are not a JSON object." }]);
  });

  it('end(true): a call still waiting for more arguments goes out if it is usable, then an error line; nothing after it', () => {
    const enc = new OllamaStreamEncoder(ctx);
    enc.encode([{ type: 'text', text: 'Partial' }]);
    expect(
      enc.encode([
        { type: 'tool_call_start', index: 0, id: 'a', name: 'f' },
        { type: 'tool_call_delta', index: 0, arguments: '' },
      ]),
    ).toBe('');
    expect(lines(enc.end(true))).toEqual([
      {
        model: 'caller-model',
        created_at: expect.any(String),
        message: { role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: {} } }] },
        done: false,
      },
      { error: 'The model backend stream ended before the answer was complete.' },
    ]);
    expect(enc.end(true)).toBe('');
    expect(enc.end(false)).toBe('');
  });

  it('end(true): a call cut inside its arguments is dropped, the error line still goes out', () => {
    const enc = new OllamaStreamEncoder(ctx);
    enc.encode([
      { type: 'tool_call_start', index: 0, id: 'b', name: 'g' },
      { type: 'tool_call_delta', index: 0, arguments: '{"cut":' },
    ]);
    expect(lines(enc.end(true))).toEqual([{ error: 'The model backend stream ended before the answer was complete.' }]);
  });

  it('an error event becomes an error line and closes the stream', () => {
    const enc = new OllamaStreamEncoder(ctx);
    const out = enc.encode([
      { type: 'text', text: 'a' },
      { type: 'error', message: 'Overloaded', status: 529 },
      { type: 'text', text: 'b' },
    ]);
    expect(lines(out).at(-1)).toEqual({ error: 'Overloaded' });
    expect(lines(out)).toHaveLength(2);
    expect(enc.end(false)).toBe('');
  });

  it('encoder output decodes back to the same events', () => {
    const events: StreamEvent[] = [
      { type: 'start', id: 'x', model: 'm' },
      { type: 'text', text: 'Héllo 🌍' },
      { type: 'tool_call_start', index: 0, id: 'a', name: 'f' },
      { type: 'tool_call_delta', index: 0, arguments: '{"a":' },
      { type: 'tool_call_delta', index: 0, arguments: '1}' },
      { type: 'usage', usage: usage(7, 9) },
      { type: 'finish', reason: 'tool_calls' },
    ];
    const enc = new OllamaStreamEncoder(ctx);
    const bytes = Buffer.from(enc.encode(events) + enc.end(false));
    expect(withoutStartId(decodeAll([bytes]))).toEqual([
      { type: 'start', id: '<id>', model: 'caller-model' },
      { type: 'text', text: 'Héllo 🌍' },
      { type: 'tool_call_start', index: 0, id: 'call_0', name: 'f' },
      { type: 'tool_call_delta', index: 0, arguments: '{"a":1}' },
      { type: 'finish', reason: 'tool_calls' },
      { type: 'usage', usage: usage(7, 9) },
    ]);
  });
});

/** Serves `body` as an Ollama /api/chat stream so the official client reads it. */
async function withServedStream<T>(body: string, fn: (host: string) => Promise<T>): Promise<T> {
  const server = http.createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('OllamaStreamEncoder output read by the official ollama client', () => {
  const encoded = (aborted: boolean) => {
    const enc = new OllamaStreamEncoder(ctx);
    return (
      enc.encode([
        { type: 'start', id: 'x', model: 'm' },
        { type: 'text', text: 'Hello' },
        { type: 'text', text: ' there' },
        { type: 'tool_call_start', index: 0, id: 'c', name: 'lookup' },
        { type: 'tool_call_delta', index: 0, arguments: '{"q":"x"}' },
        { type: 'finish', reason: 'tool_calls' },
        { type: 'usage', usage: usage(12, 5) },
      ]) + enc.end(aborted)
    );
  };

  it('a complete stream: text, the tool call, and a done chunk with counts', async () => {
    await withServedStream(encoded(false), async (host) => {
      const stream = await new Ollama({ host }).chat({ model: 'caller-model', messages: [{ role: 'user', content: 'hi' }], stream: true });
      let text = '';
      const calls: unknown[] = [];
      let last: { done: boolean; done_reason: string; prompt_eval_count: number; eval_count: number } | undefined;
      for await (const chunk of stream) {
        text += chunk.message.content;
        calls.push(...(chunk.message.tool_calls ?? []));
        last = chunk;
      }
      expect(text).toBe('Hello there');
      expect(calls).toEqual([{ function: { name: 'lookup', arguments: { q: 'x' } } }]);
      expect(last).toMatchObject({ done: true, done_reason: 'stop', prompt_eval_count: 12, eval_count: 5 });
    });
  });

  it('an aborted stream: the client yields the text, then raises the error', async () => {
    await withServedStream(encoded(true), async (host) => {
      const stream = await new Ollama({ host }).chat({ model: 'caller-model', messages: [{ role: 'user', content: 'hi' }], stream: true });
      let text = '';
      const run = async () => {
        for await (const chunk of stream) text += chunk.message.content;
      };
      await expect(run()).rejects.toThrow('The model backend stream ended before the answer was complete.');
      expect(text).toBe('Hello there');
    });
  });
});
