import type { StreamEventCheck, StreamFraming } from '../providers/canonical/stream-check.js';

/** What to do with one complete event: a stream check's verdict, or `hide` (the caller must not see it). */
export type GuardVerdict = StreamEventCheck | 'hide';

export const UNREADABLE_EVENT = 'The upstream provider sent a stream event the gateway could not read.';
export const STREAM_CUT = 'The upstream provider stream ended before the answer was complete.';

const LF = 10;
const CR = 13;

/**
 * A stream passing unchanged between ends of the same API, checked on its way: only complete
 * events go on (an unfinished one is held until it completes), each looked at cheaply by its API's
 * check. An event that is not one of the API's, or a stream that ends without its last event
 * (cut, empty), ends the caller's stream with an error event in its API instead, and nothing
 * after it. A chunk made of complete, good events passes as it came (no copy).
 *
 * The bytes are read as latin1, one character per byte: the checks look only at the ASCII that
 * frames events and JSON (which UTF-8 never uses inside a multi-byte character), a character cut
 * between chunks needs no care, and what is sent on is the same bytes.
 */
export class StreamGuard {
  /** The stream's own end (its finish, or the provider's error) went by. */
  ended = false;
  /** The guard ended the stream with its error event: the rest is dropped. */
  failed = false;
  private tail = '';
  private readonly sse: boolean;

  constructor(
    framing: StreamFraming,
    /** One complete event (without its terminator): pass it, hide it, end on it, or fail on it. */
    private readonly check: (event: string) => GuardVerdict,
    /** The caller's API's error event with this message (its whole frame). */
    private readonly errorEvent: (message: string) => string,
  ) {
    this.sse = framing === 'sse';
  }

  /** The bytes to send on instead of `chunk`, or undefined to send it unchanged. */
  push(chunk: Buffer, endOfStream: boolean): Buffer | undefined {
    if (this.failed) return EMPTY;
    const held = this.tail !== '';
    const text = held ? this.tail + chunk.toString('latin1') : chunk.toString('latin1');
    // Passed unchanged only when nothing is held on either side: no earlier tail, none now.
    let unchanged = !held && chunk.length > 0;
    let out = '';
    let start = 0;
    for (;;) {
      const [contentEnd, next] = this.eventEnd(text, start);
      if (next < 0) break;
      const event = text.slice(start, contentEnd);
      const verdict = event === '' ? 'pass' : this.check(event);
      if (verdict === 'bad') return this.fail(out, UNREADABLE_EVENT);
      if (verdict === 'hide') unchanged = false;
      else {
        if (verdict === 'last') this.ended = true;
        out += text.slice(start, next);
      }
      start = next;
    }
    const tail = start === 0 ? text : text.slice(start);
    this.tail = endOfStream ? '' : tail;
    if (tail !== '') unchanged = false;
    if (endOfStream) {
      // A last event without its blank line is whole if it checks out.
      if (tail.trim() !== '') {
        const verdict = this.check(tail);
        // Cut inside its last event, most likely: what there is of it does not read as one.
        if (verdict === 'bad') return this.fail(out, STREAM_CUT);
        if (verdict === 'last') this.ended = true;
        if (verdict !== 'hide') out += tail;
      }
      if (!this.ended) return this.fail(out, STREAM_CUT);
    }
    return unchanged ? undefined : Buffer.from(out, 'latin1');
  }

  /**
   * Where the event starting at `from` ends: its content's end and the next event's start (after
   * the blank line, or the NDJSON newline, CRLF or LF); next is -1 while it is unfinished.
   */
  private eventEnd(text: string, from: number): [number, number] {
    for (let i = text.indexOf('\n', from); i >= 0; i = text.indexOf('\n', i + 1)) {
      const contentEnd = i > from && text.charCodeAt(i - 1) === CR ? i - 1 : i;
      if (!this.sse) return [contentEnd, i + 1];
      if (text.charCodeAt(i + 1) === LF) return [contentEnd, i + 2];
      if (text.charCodeAt(i + 1) === CR && text.charCodeAt(i + 2) === LF) return [contentEnd, i + 3];
    }
    return [-1, -1];
  }

  private fail(sent: string, message: string): Buffer {
    this.failed = true;
    this.tail = '';
    return Buffer.concat([Buffer.from(sent, 'latin1'), Buffer.from(this.errorEvent(message), 'utf8')]);
  }
}

const EMPTY = Buffer.alloc(0);
