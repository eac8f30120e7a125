import { StringDecoder } from 'node:string_decoder';
import type { Usage } from '../../metering/usage.js';
import { framedAsObject, isErrorEvent, readSseEvent, type StreamEventCheck } from '../canonical/stream-check.js';
import { fromOpenAIUsage } from './usage.js';

/**
 * One complete event of an OpenAI chat completion stream, checked without parsing it: data framed
 * as a JSON object, or `[DONE]` (the end, as is an error the provider reports in the stream).
 */
export function checkOpenAIStreamEvent(event: string): StreamEventCheck {
  const e = readSseEvent(event);
  if (!e) return 'bad';
  const data = e.data;
  if (data === undefined) return 'pass';
  if (data.trim() === '[DONE]') return 'last';
  if (!framedAsObject(data)) return 'bad';
  return isErrorEvent(data) ? 'last' : 'pass';
}

// Capturing, so the separators survive a split and a rewritten stream stays byte-exact.
const EVENT_END = /(\r?\n\r?\n)/;

/**
 * Watches an OpenAI chat completion SSE stream as Envoy hands it over chunk by chunk, and
 * picks the usage out of the final chunk. Events may be split anywhere across chunks.
 *
 * When the gateway itself asked for `stream_options.include_usage` (the caller did not), the
 * usage-only chunk is removed so the caller sees exactly the stream it asked for; only then
 * are chunks rewritten (complete events only, the unfinished tail held until it completes).
 */
export class OpenAIStreamTap {
  usage: Usage | undefined;
  events = 0;
  private tail = '';
  // Chunks can end in the middle of a multi-byte character; the decoder carries it over.
  private readonly decoder = new StringDecoder('utf8');

  /**
   * `observer`, when given, sees every parsed chunk and the end marker (the response cache
   * assembles the answer from them); without it only usage chunks are parsed.
   */
  constructor(
    private readonly hideUsageChunk: boolean,
    private readonly observer?: { push(chunk: unknown): void; done(): void },
  ) {}

  /** Returns the bytes to send on instead of `chunk`, or undefined to send it unchanged. */
  push(chunk: Buffer, endOfStream: boolean): Buffer | undefined {
    const text = this.tail + this.decoder.write(chunk) + (endOfStream ? this.decoder.end() : '');
    // parts alternates event, separator, event, separator, ..., unfinished tail.
    const parts = text.split(EVENT_END);
    const tail = parts.pop() ?? '';
    this.tail = endOfStream ? '' : tail;
    if (!this.hideUsageChunk) {
      for (let i = 0; i < parts.length; i += 2) this.read(parts[i]!);
      if (endOfStream) this.read(tail);
      return undefined;
    }
    let out = '';
    for (let i = 0; i < parts.length; i += 2) {
      if (!this.read(parts[i]!)) out += parts[i]! + parts[i + 1]!;
    }
    if (endOfStream && !this.read(tail)) out += tail;
    return Buffer.from(out, 'utf8');
  }

  /**
   * Reads one complete event (its usage, the observer's copy); returns true when the caller must
   * not see it: the usage-only chunk the gateway asked for on its behalf.
   */
  read(event: string): boolean {
    return this.inspect(event) && this.hideUsageChunk;
  }

  /** Reads one event; returns true when it is the usage-only chunk. */
  private inspect(event: string): boolean {
    if (event === '') return false;
    this.events++;
    // Only the usage chunk carries a non-null usage object; without an observer, skip parsing the rest.
    if (!this.observer && !event.includes('"usage":{') && !event.includes('"usage": {')) return false;
    const data = event
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).trimStart())
      .join('\n');
    if (data === '[DONE]') {
      this.observer?.done();
      return false;
    }
    let parsed: { usage?: unknown; choices?: unknown[] | null };
    try {
      parsed = JSON.parse(data) as typeof parsed;
    } catch {
      return false;
    }
    this.observer?.push(parsed);
    const u = fromOpenAIUsage(parsed.usage);
    if (!u) return false;
    this.usage = u;
    // OpenAI sends `choices: []`; some compatible servers (vLLM) send null or leave it out.
    return !Array.isArray(parsed.choices) || parsed.choices.length === 0;
  }
}
