import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { StreamDecoder, StreamEvent } from './types.js';

/**
 * The framing every SSE backend shares: bytes to text (a chunk may end inside a multi-byte
 * character), text to events (an event may span chunks), events to canonical stream events.
 * Subclasses read one SSE event at a time and push what it means onto `out`.
 */
export abstract class SseDecoder implements StreamDecoder {
  protected out: StreamEvent[] = [];
  /** True while the last, possibly unterminated, event is being read at the end of the stream. */
  protected ending = false;
  private readonly utf8 = new TextDecoder('utf-8');
  private readonly parser = createParser({ onEvent: (e) => this.onEvent(e) });

  push(chunk: Buffer): StreamEvent[] {
    this.parser.feed(this.utf8.decode(chunk, { stream: true }));
    return this.take();
  }

  end(): StreamEvent[] {
    this.ending = true;
    // A last event the backend did not close with a blank line is still whole if its data parses.
    this.parser.feed(`${this.utf8.decode()}\n\n`);
    this.onEnd();
    return this.take();
  }

  protected abstract onEvent(e: EventSourceMessage): void;

  /** The stream is over: emit what was held back (e.g. usage that only the end makes final). */
  protected onEnd(): void {}

  private take(): StreamEvent[] {
    const events = this.out;
    this.out = [];
    return events;
  }
}
