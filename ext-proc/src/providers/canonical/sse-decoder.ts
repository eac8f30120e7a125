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
  /** The last text fed ended in CR: an LF starting the next one belongs to the same line end. */
  private afterCR = false;

  push(chunk: Buffer): StreamEvent[] {
    this.feed(this.utf8.decode(chunk, { stream: true }));
    return this.take();
  }

  end(): StreamEvent[] {
    this.ending = true;
    // A last event the backend did not close with a blank line is still whole if its data parses.
    this.feed(`${this.utf8.decode()}\n\n`);
    this.onEnd();
    return this.take();
  }

  /**
   * Line ends reach the parser as LF only. A CR is a line end of its own in SSE, but
   * eventsource-parser (3.1) holds a CR that ends a chunk until a later line is complete, so an
   * event could wait for bytes after it, or for the end of the stream, depending on where Envoy
   * cut the chunks. Here a CR ends its line at once, and an LF right after it is dropped.
   */
  private feed(text: string): void {
    if (text === '') return;
    if (this.afterCR && text.charCodeAt(0) === 0x0a) text = text.slice(1);
    this.afterCR = text.charCodeAt(text.length - 1) === 0x0d;
    this.parser.feed(text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text);
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
