/*
 * Property of the SSE framing every SSE backend's decoder shares: whatever the bytes (events with
 * several data lines, comments, ids, CR, LF or CRLF line ends, multi-byte characters, invalid
 * UTF-8), the events read are the same however the bytes are cut into chunks, and reading never
 * throws.
 */
import type { EventSourceMessage } from 'eventsource-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cuts, runs, splitAt, wildString } from '../../../../test/helpers/fuzz.js';
import { SseDecoder } from './sse-decoder.js';

/** Records what the framing hands a format's decoder. */
class Recorder extends SseDecoder {
  readonly seen: Array<{ event?: string; id?: string; data: string; ending: boolean }> = [];
  protected onEvent(e: EventSourceMessage): void {
    this.seen.push({ event: e.event, id: e.id, data: e.data, ending: this.ending });
  }
}

function read(chunks: Buffer[]) {
  const r = new Recorder();
  for (const c of chunks) r.push(c);
  r.end();
  return r.seen;
}

const value = wildString.map((s) => s.replace(/[\r\n]/g, ' '));
const line = fc.oneof(
  { weight: 4, arbitrary: value.map((v) => `data: ${v}`) },
  { weight: 1, arbitrary: value.map((v) => `data:${v}`) },
  { weight: 1, arbitrary: fc.constantFrom('event: message_start', 'event: error', 'id: 7', 'retry: 1000', ': keep-alive', 'data', '') },
  { weight: 1, arbitrary: value },
);
const eol = fc.constantFrom('\n', '\r\n', '\r');

/** An SSE stream: events of several lines, each line with its own line end, a blank line after each event. */
const sseText = fc
  .array(fc.tuple(fc.array(fc.tuple(line, eol), { minLength: 1, maxLength: 4 }), eol), { maxLength: 6 })
  .map((events) => events.map(([lines, end]) => lines.map(([l, e]) => l + e).join('') + end).join(''));

describe('SseDecoder', () => {
  it('reads the same events however the stream is split', () => {
    fc.assert(
      fc.property(sseText, cuts, fc.boolean(), (text, at, unterminated) => {
        // A last event the backend did not close with a blank line is read at the end too.
        const bytes = Buffer.from(unterminated ? text.replace(/(\r\n|\r|\n)$/, '') : text, 'utf8');
        expect(read(splitAt(bytes, at))).toEqual(read([bytes]));
      }),
      runs(600),
    );
  });

  it('reads the same events when every chunk ends right after a CR (a CRLF may be split there)', () => {
    fc.assert(
      fc.property(sseText, value, (text, tail) => {
        // An event still being written at the end: what a CR-held event would wait for.
        const bytes = Buffer.from(`${text}data: ${tail}`, 'utf8');
        const afterCR: number[] = [];
        for (let i = bytes.indexOf(13); i >= 0; i = bytes.indexOf(13, i + 1)) afterCR.push(i + 1);
        expect(read(splitAt(bytes, afterCR))).toEqual(read([bytes]));
      }),
      runs(300),
    );
  });

  it('takes any bytes without throwing, and splitting them changes nothing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), cuts, (raw, at) => {
        const bytes = Buffer.from(raw);
        expect(read(splitAt(bytes, at))).toEqual(read([bytes]));
      }),
      runs(400),
    );
  });

  it('a multi-line event is one event, with its lines joined by LF, whatever the line ends', () => {
    for (const e of ['\n', '\r\n', '\r']) {
      const bytes = Buffer.from(`data: a${e}data: b${e}${e}`, 'utf8');
      for (let cut = 0; cut <= bytes.length; cut++) {
        expect(read([bytes.subarray(0, cut), bytes.subarray(cut)]).map((x) => x.data)).toEqual(['a\nb']);
      }
    }
  });
});
