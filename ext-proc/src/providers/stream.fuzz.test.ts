/*
 * Properties of the stream decoders and encoders, the part of a call that sees bytes exactly as
 * Envoy hands them over (split anywhere, a multi-byte character included):
 * - split invariance: a valid stream decodes to the same events however it is cut into chunks,
 *   and a translated stream (backend decoder → caller encoder) comes out as the same bytes;
 * - what an encoder writes, its own API's decoder reads back as the same answer;
 * - bytes that are no stream at all never make a decoder throw (it reports an error event).
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { streamEvents } from '../../../test/helpers/fuzz-canonical.js';
import { cuts, runs, splitAt, wildString } from '../../../test/helpers/fuzz.js';
import type { EncoderContext, FormatId, StreamEncoder, StreamEvent } from './canonical/types.js';
import { FORMATS } from './formats.js';
import { createOllamaStreamEncoder } from './ollama/stream.js';

const CTX: EncoderContext = { id: 'resp-fuzz', model: 'fuzz-model', created: 1_700_000_000, includeUsage: true };
const STILL_CLOCK = { monotonicMs: () => 1000, now: () => new Date(0) };
const IDS = Object.keys(FORMATS) as FormatId[];

/** Encoders write times and durations; a clock that stands still makes their output comparable. */
function encoder(format: FormatId, ctx: EncoderContext = CTX): StreamEncoder {
  return format === 'ollama' ? createOllamaStreamEncoder(ctx, STILL_CLOCK) : FORMATS[format].createStreamEncoder(ctx);
}

/** The stream a backend of `format` would send for these events, cut off early when `aborted`. */
function encode(format: FormatId, events: StreamEvent[], aborted = false): Buffer {
  const e = encoder(format);
  return Buffer.from(e.encode(events) + e.end(aborted), 'utf8');
}

/** Ollama's stream has no response id: its decoder makes one up per stream. */
function comparable(events: StreamEvent[]): StreamEvent[] {
  return events.map((e) => (e.type === 'start' ? { ...e, id: '' } : e));
}

function decode(format: FormatId, chunks: Buffer[]): StreamEvent[] {
  const d = FORMATS[format].createStreamDecoder();
  const out: StreamEvent[] = [];
  for (const c of chunks) out.push(...d.push(c));
  out.push(...d.end());
  return comparable(out);
}

/** Backend stream bytes → caller stream text, the way the answer translator runs it. */
function translate(from: FormatId, to: FormatId, chunks: Buffer[]): string {
  const d = FORMATS[from].createStreamDecoder();
  const e = encoder(to);
  let out = '';
  let finished = false;
  for (const c of chunks) {
    const events = d.push(c);
    finished ||= events.some((x) => x.type === 'finish');
    out += e.encode(events);
  }
  const last = d.end();
  finished ||= last.some((x) => x.type === 'finish');
  return out + e.encode(last) + e.end(!finished);
}

/** The answer a stream carries, whatever its framing: text, tool calls, usage, whether it failed. */
function answer(events: StreamEvent[]) {
  let text = '';
  const calls: Array<{ name: string; args: string }> = [];
  let usage: { input: number; output: number } | undefined;
  let error = false;
  for (const e of events) {
    if (e.type === 'text') text += e.text;
    else if (e.type === 'tool_call_start') calls[e.index] = { name: e.name, args: '' };
    else if (e.type === 'tool_call_delta') calls[e.index]!.args += e.arguments;
    else if (e.type === 'usage') usage = { input: e.usage.inputTokens, output: e.usage.outputTokens };
    else if (e.type === 'error') error = true;
  }
  return { text, calls: calls.map((c) => ({ name: c.name, args: JSON.parse(c.args || '{}') as unknown })), usage, error };
}

function fixtures(format: FormatId): Buffer[] {
  const dir = new URL(`./${format}/fixtures/`, import.meta.url);
  return readdirSync(dir)
    .filter((n) => n.endsWith('.sse') || n.endsWith('.ndjson'))
    .map((n) => readFileSync(new URL(n, dir)));
}

/**
 * The same stream in framing its spec also allows: CRLF line ends (Ollama's lines are trimmed),
 * SSE comments as keep-alives between events, `data:` without its space.
 */
function reframed(format: FormatId, bytes: Buffer, style: number): Buffer {
  let text = bytes.toString('utf8');
  if (style & 1) text = text.replace(/\r?\n/g, '\r\n');
  if (format === 'ollama') return Buffer.from(text, 'utf8');
  if (style & 2) text = text.replace(/(\r?\n\r?\n)/g, '$1: keep-alive$1');
  if (style & 4) text = text.replace(/^data: /gm, 'data:');
  return Buffer.from(text, 'utf8');
}

/** A valid stream of `format`: one of its documented samples, or what its encoder writes for random events. */
function validStream(format: FormatId): fc.Arbitrary<Buffer> {
  const plain = fc.oneof(
    fc.constantFrom(...fixtures(format)),
    streamEvents.map((events) => encode(format, events)),
  );
  return fc.tuple(plain, fc.nat(7)).map(([bytes, style]) => reframed(format, bytes, style));
}

const DEEP = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;

/** Lines of a stream whose tool arguments (or error) are nested 10k deep: far past what JSON.stringify can take. */
function deepLines(format: FormatId): string[] {
  const lines: Record<FormatId, string[]> = {
    openai: [`data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":${DEEP}}}]}}]}`],
    anthropic: [
      'data: {"type":"message_start","message":{"id":"m","model":"x"}}',
      `data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"f","input":${DEEP}}}`,
      'data: {"type":"content_block_stop","index":0}',
    ],
    gemini: [`data: {"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":${DEEP}}}]}}]}`],
    ollama: [
      `{"model":"x","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":${DEEP}}}]},"done":false}`,
      `{"error":${DEEP}}`,
    ],
  };
  return lines[format].map((l) => (format === 'ollama' ? l : `${l}\n`));
}

/** Bytes that are nearly a stream: lines of it, noise, broken JSON, invalid UTF-8. */
function garbage(format: FormatId): fc.Arbitrary<Buffer> {
  const line = fc.oneof(
    { weight: 3, arbitrary: wildString },
    { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => (format === 'ollama' ? JSON.stringify(v) : `data: ${JSON.stringify(v)}`)) },
    fc.constantFrom(
      'data: [DONE]',
      'data: {',
      'event: error',
      'data: {"error":{}}',
      ':',
      'data:',
      '{"error":null}',
      '{"done":true}',
      '\r',
      'event: content_block_delta',
    ),
    // Valid JSON nested far deeper than any answer, where each API carries tool arguments.
    fc.constantFrom(...deepLines(format)),
  );
  return fc.oneof(
    fc.array(line, { maxLength: 8 }).map((lines) => Buffer.from(`${lines.join('\n')}\n\n`, 'utf8')),
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  );
}

describe('stream decoders', () => {
  for (const format of IDS) {
    it(`${format}: a valid stream decodes the same however it is split`, () => {
      fc.assert(
        fc.property(validStream(format), cuts, (bytes, at) => {
          expect(decode(format, splitAt(bytes, at))).toEqual(decode(format, [bytes]));
        }),
        runs(250),
      );
    });

    it(`${format}: what its encoder writes, its decoder reads back as the same answer`, () => {
      fc.assert(
        fc.property(streamEvents, fc.boolean(), (events, cutOff) => {
          // The answer translator ends a stream as cut off only when no finish came.
          const aborted = cutOff && !events.some((e) => e.type === 'finish');
          const back = answer(decode(format, [encode(format, events, aborted)]));
          const sent = answer(events);
          expect(back.text).toBe(sent.text);
          // A cut stream ends with an error event in every API (Gemini's: an error object, as Google ends a failed stream).
          expect(back.error).toBe(sent.error || aborted);
          // A stream that failed or was cut may drop the calls still being written.
          if (!back.error) expect(back.calls).toEqual(sent.calls);
          if (!back.error && sent.usage) expect(back.usage).toEqual(sent.usage);
        }),
        runs(250),
      );
    });

    it(`${format}: garbage never makes the decoder throw, and splitting it changes nothing either`, () => {
      fc.assert(
        fc.property(garbage(format), cuts, (bytes, at) => {
          expect(decode(format, splitAt(bytes, at))).toEqual(decode(format, [bytes]));
        }),
        runs(300),
      );
    });
  }
});

describe('stream translation', () => {
  for (const from of IDS) {
    for (const to of IDS.filter((f) => f !== from)) {
      it(`${from} → ${to}: the caller gets the same bytes however the backend's stream is split`, () => {
        fc.assert(
          fc.property(validStream(from), cuts, (bytes, at) => {
            expect(translate(from, to, splitAt(bytes, at))).toBe(translate(from, to, [bytes]));
          }),
          runs(60),
        );
      });
    }
  }
});
