import type { EventSourceMessage } from 'eventsource-parser';
import { describe, expect, it } from 'vitest';
import { SseDecoder } from './sse-decoder.js';

/** Emits each SSE event's data as a text event, and whether the stream's end delivered it. */
class Echo extends SseDecoder {
  protected onEvent(e: EventSourceMessage): void {
    this.out.push({ type: 'text', text: this.ending ? `${e.data} (at end)` : e.data });
  }
}

const texts = (events: ReturnType<Echo['push']>) => events.map((e) => (e.type === 'text' ? e.text : e.type));

describe('SseDecoder line ends', () => {
  it('an event closed by a CR at the end of a chunk is out by the next push, not held to the end (found by fuzzing)', () => {
    const d = new Echo();
    expect(texts(d.push(Buffer.from('data: a\n\r')))).toEqual(['a']);
    expect(texts(d.push(Buffer.from('data: c')))).toEqual([]);
    expect(texts(d.end())).toEqual(['c (at end)']);
  });

  it('a CRLF split between two chunks is one line end, not a blank line', () => {
    const d = new Echo();
    expect(texts(d.push(Buffer.from('data: a\r')))).toEqual([]);
    expect(texts(d.push(Buffer.from('\ndata: b\r')))).toEqual([]);
    expect(texts(d.push(Buffer.from('')))).toEqual([]);
    expect(texts(d.push(Buffer.from('\n\r\n')))).toEqual(['a\nb']);
  });

  it('LF, CRLF and CR streams read alike', () => {
    for (const eol of ['\n', '\r\n', '\r']) {
      const d = new Echo();
      const out = texts(d.push(Buffer.from(`event: x${eol}data: 1${eol}data: 2${eol}${eol}: comment${eol}data: 3${eol}${eol}`)));
      expect(out, JSON.stringify(eol)).toEqual(['1\n2', '3']);
    }
  });
});
