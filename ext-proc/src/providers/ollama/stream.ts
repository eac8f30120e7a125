import type { Usage } from '../../metering/usage.js';
import { framedAsObject, parseObject, type StreamEventCheck } from '../canonical/stream-check.js';
import type { EncoderContext, FinishReason, StreamDecoder, StreamEncoder, StreamEvent } from '../canonical/types.js';
import { nestedDeeperThan, tooDeepMessage } from '../../util/json-depth.js';
import { argumentsObject, type ArgumentsObject } from './arguments.js';
import { newResponseId } from './ids.js';
import { doneReasonFor, finishFromDoneReason, OllamaChatObject, toolCallParts, usageFrom } from './response.js';

/*
 * Ollama streams newline-delimited JSON: one chat object per line, the last one `done: true`
 * with the counts. A failure after the stream started arrives as a line `{"error": "..."}`.
 */

export const OLLAMA_STREAM_CONTENT_TYPE = 'application/x-ndjson';

const NEWLINE = 0x0a;

const DONE_TRUE = /"done"\s*:\s*true/;

/**
 * One line of an Ollama stream, checked without parsing it: a JSON object; the `done: true` line
 * (or an `{"error": ...}` line) ends the stream. Only a line that may be that one is parsed.
 */
export function checkOllamaStreamLine(line: string): StreamEventCheck {
  if (line.trim() === '') return 'pass';
  if (!framedAsObject(line)) return 'bad';
  if (!DONE_TRUE.test(line) && !line.includes('"error"')) return 'pass';
  const o = parseObject(line);
  if (!o) return 'bad';
  return o.done === true || typeof o.error === 'string' ? 'last' : 'pass';
}

/** Splits a byte stream into lines. Works on bytes so a multi-byte character split across chunks stays whole. */
class LineSplitter {
  private pending: Buffer[] = [];

  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl);
      lines.push((this.pending.length > 0 ? Buffer.concat([...this.pending, piece]) : piece).toString('utf8'));
      this.pending = [];
      start = nl + 1;
    }
    if (start < chunk.length) this.pending.push(chunk.subarray(start));
    return lines;
  }

  end(): string[] {
    const rest = Buffer.concat(this.pending).toString('utf8');
    this.pending = [];
    return [rest];
  }
}

/**
 * Status for an error the backend reported inside an already started (200) stream: Ollama does
 * not say more than the message, and a backend that fails mid-answer is a bad gateway answer.
 */
const MIDSTREAM_ERROR_STATUS = 502;

export class OllamaStreamDecoder implements StreamDecoder {
  private readonly lines = new LineSplitter();
  private started = false;
  private finished = false;
  private toolCalls = 0;

  push(chunk: Buffer): StreamEvent[] {
    return this.decode(this.lines.push(chunk));
  }

  end(): StreamEvent[] {
    return this.decode(this.lines.end());
  }

  private decode(lines: string[]): StreamEvent[] {
    const events: StreamEvent[] = [];
    for (const raw of lines) {
      // Trimming also drops the CR of CRLF framing.
      const line = raw.trim();
      if (line === '' || this.finished) continue;
      this.line(line, events);
    }
    return events;
  }

  private line(line: string, events: StreamEvent[]): void {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      this.fail(events, 'The Ollama backend sent a stream line that is not JSON.');
      return;
    }
    // Tool arguments (and error objects) are re-serialised, which would overflow the stack past the limit.
    if (nestedDeeperThan(json)) {
      this.fail(events, tooDeepMessage('A stream line from the Ollama backend'));
      return;
    }
    const error = (json as { error?: unknown } | null)?.error;
    if (error !== undefined && error !== null) {
      this.fail(events, typeof error === 'string' ? error : JSON.stringify(error));
      return;
    }
    const r = OllamaChatObject.safeParse(json);
    if (!r.success) {
      this.fail(events, 'The Ollama backend sent a stream line that is not a chat object.');
      return;
    }
    const obj = r.data;
    if (!this.started) {
      this.started = true;
      events.push({ type: 'start', id: newResponseId(), model: obj.model ?? '' });
    }
    const content = obj.message?.content;
    if (content) events.push({ type: 'text', text: content });
    // Ollama sends each tool call whole, arguments included.
    for (const call of toolCallParts(obj.message?.tool_calls ?? [], this.toolCalls)) {
      const index = this.toolCalls++;
      events.push({ type: 'tool_call_start', index, id: call.id, name: call.name });
      events.push({ type: 'tool_call_delta', index, arguments: call.arguments });
    }
    if (obj.done === true) {
      this.finished = true;
      events.push({ type: 'finish', reason: finishFromDoneReason(obj.done_reason, this.toolCalls > 0) });
      const usage = usageFrom(obj);
      if (usage) events.push({ type: 'usage', usage });
    }
  }

  private fail(events: StreamEvent[], message: string): void {
    this.finished = true;
    events.push({ type: 'error', message, status: MIDSTREAM_ERROR_STATUS });
  }
}

/** Clock readings the encoder needs; injectable so durations are testable. */
export interface EncoderClock {
  /** Monotonic milliseconds (performance.now()). */
  monotonicMs(): number;
  /** Wall time for `created_at`. */
  now(): Date;
}

const SYSTEM_CLOCK: EncoderClock = { monotonicMs: () => performance.now(), now: () => new Date() };

interface PendingCall {
  name: string;
  args: string;
  sent: boolean;
}

const msToNs = (ms: number): number => Math.max(0, Math.round(ms * 1e6));

/**
 * Writes events as Ollama's stream: text at once, each tool call whole as soon as its arguments
 * form a complete JSON object (Ollama never streams partial arguments), and the `done` line with
 * counts and durations at the end.
 *
 * Durations are what the gateway saw (nanoseconds): total_duration from encoder creation to the
 * end, prompt_eval_duration up to the first output, eval_duration from first to last output;
 * load_duration is unknown and 0.
 */
export class OllamaStreamEncoder implements StreamEncoder {
  private readonly calls = new Map<number, PendingCall>();
  private readonly startedAt: number;
  private firstOutputAt: number | undefined;
  private lastOutputAt: number | undefined;
  private reason: FinishReason | undefined;
  private usage: Usage | undefined;
  private closed = false;

  constructor(
    private readonly ctx: EncoderContext,
    private readonly clock: EncoderClock = SYSTEM_CLOCK,
  ) {
    this.startedAt = clock.monotonicMs();
  }

  encode(events: StreamEvent[]): string {
    let out = '';
    for (const ev of events) {
      if (this.closed) break;
      switch (ev.type) {
        case 'start':
          break;
        case 'text':
          out += this.flushCalls(false);
          if (ev.text !== '') out += this.chunk({ role: 'assistant', content: ev.text });
          break;
        case 'tool_call_start':
          out += this.flushCalls(false);
          this.calls.set(ev.index, { name: ev.name, args: '', sent: false });
          break;
        case 'tool_call_delta': {
          const call = this.calls.get(ev.index);
          if (!call || call.sent) break;
          call.args += ev.arguments;
          // A JSON object is complete at its closing brace; parse only then.
          if (call.args.trimEnd().endsWith('}')) {
            const args = argumentsObject(call.args);
            if (args !== undefined) out += this.sendCall(call, args);
          }
          break;
        }
        case 'finish':
          this.reason = ev.reason;
          break;
        case 'usage':
          this.usage = ev.usage;
          break;
        case 'error':
          out += this.fail(ev.message);
          break;
      }
    }
    return out;
  }

  end(aborted: boolean): string {
    if (this.closed) return '';
    if (aborted) {
      // Whatever complete call is buffered still reaches the caller; the error line then makes the
      // Ollama client raise instead of treating a truncated answer as finished.
      return this.flushCalls(true) + this.fail('The model backend stream ended before the answer was complete.');
    }
    const calls = this.flushCalls(false);
    if (this.closed) return calls;
    this.closed = true;
    const end = this.clock.monotonicMs();
    const first = this.firstOutputAt ?? end;
    const last = this.lastOutputAt ?? end;
    const final: Record<string, unknown> = {
      model: this.ctx.model,
      created_at: this.clock.now().toISOString(),
      message: { role: 'assistant', content: '' },
      done: true,
      done_reason: doneReasonFor(this.reason ?? 'stop'),
      total_duration: msToNs(end - this.startedAt),
      load_duration: 0,
      ...(this.usage ? { prompt_eval_count: this.usage.inputTokens } : {}),
      prompt_eval_duration: msToNs(first - this.startedAt),
      ...(this.usage ? { eval_count: this.usage.outputTokens } : {}),
      eval_duration: msToNs(last - first),
    };
    return `${calls + JSON.stringify(final)}\n`;
  }

  private chunk(message: Record<string, unknown>): string {
    const t = this.clock.monotonicMs();
    this.firstOutputAt ??= t;
    this.lastOutputAt = t;
    return `${JSON.stringify({ model: this.ctx.model, created_at: this.clock.now().toISOString(), message, done: false })}\n`;
  }

  private sendCall(call: PendingCall, args: ArgumentsObject): string {
    call.sent = true;
    return this.chunk({ role: 'assistant', content: '', tool_calls: [{ function: { name: call.name, arguments: args } }] });
  }

  /**
   * Sends the calls whose arguments never ended in a complete object by the time something else
   * arrived. Blank arguments are `{}`; anything else unparsable ends the stream with an error,
   * unless `dropInvalid` (the stream is being aborted anyway).
   */
  private flushCalls(dropInvalid: boolean): string {
    let out = '';
    for (const [index, call] of this.calls) {
      this.calls.delete(index);
      if (call.sent) continue;
      const args = argumentsObject(call.args);
      if (args !== undefined) out += this.sendCall(call, args);
      else if (!dropInvalid) return out + this.fail(`The backend returned arguments for tool '${call.name}' that are not a JSON object.`);
    }
    return out;
  }

  private fail(message: string): string {
    this.closed = true;
    this.calls.clear();
    return `${JSON.stringify({ error: message })}\n`;
  }
}

export function createOllamaStreamDecoder(): StreamDecoder {
  return new OllamaStreamDecoder();
}

export function createOllamaStreamEncoder(ctx: EncoderContext, clock?: EncoderClock): StreamEncoder {
  return new OllamaStreamEncoder(ctx, clock);
}
