import type { EventSourceMessage } from 'eventsource-parser';
import { SseDecoder } from '../canonical/sse-decoder.js';
import { framedAsObject, parseObject, readSseEvent, type StreamEventCheck } from '../canonical/stream-check.js';
import { kindForStatus } from '../../errors.js';
import { nestedDeeperThan, tooDeepMessage } from '../../util/json-depth.js';
import type { Usage } from '../../metering/usage.js';
import type { EncoderContext, FinishReason, StreamEncoder, StreamEvent } from '../canonical/types.js';
import { googleStatusFor } from './errors.js';
import { fromGeminiFinish, toGeminiFinish, type GeminiFinishReason } from './finish.js';
import { argsObject, bareModel, candidateParts } from './response.js';
import { fromGeminiUsage, toGeminiUsage } from './usage.js';

/*
 * `:streamGenerateContent?alt=sse`: every SSE event is one whole GenerateContentResponse. Text
 * arrives in pieces; a function call always arrives whole, in one part. usageMetadata may ride on
 * any chunk with running totals, the last one being final. A failure after the stream began is
 * sent as an event holding Google's error object.
 */

export const GEMINI_STREAM_CONTENT_TYPE = 'text/event-stream';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One complete event of a Gemini stream, checked without parsing it: data framed as a JSON object;
 * the chunk with a finishReason (or a blocked prompt's feedback, or an error object) ends it. Only
 * a chunk that may be that one is parsed.
 */
export function checkGeminiStreamEvent(event: string): StreamEventCheck {
  const data = readSseEvent(event);
  if (!data) return 'bad';
  if (data.data === undefined) return 'pass';
  return checkGeminiChunk(data.data);
}

function checkGeminiChunk(data: string): StreamEventCheck {
  if (!framedAsObject(data)) return 'bad';
  if (!data.includes('"finishReason"') && !data.includes('"blockReason"') && !data.includes('"error"')) return 'pass';
  const chunk = parseObject(data);
  if (!chunk) return 'bad';
  if (isRecord(chunk.error)) return 'last';
  const candidate = Array.isArray(chunk.candidates) ? chunk.candidates[0] : undefined;
  if (isRecord(candidate) && typeof candidate.finishReason === 'string') return 'last';
  return isRecord(chunk.promptFeedback) && typeof chunk.promptFeedback.blockReason === 'string' ? 'last' : 'pass';
}

const sameUsage = (a: Usage, b: Usage): boolean =>
  a.inputTokens === b.inputTokens &&
  a.outputTokens === b.outputTokens &&
  a.cachedInputTokens === b.cachedInputTokens &&
  a.reasoningTokens === b.reasoningTokens;

export class GeminiStreamDecoder extends SseDecoder {
  private started = false;
  private calls = 0;
  private finished = false;
  private usage: Usage | undefined;
  private usageSent: Usage | undefined;

  protected override onEnd(): void {
    // Usage can grow after the finishing chunk (or there was no finish): the last report wins.
    if (this.usage && !(this.usageSent && sameUsage(this.usage, this.usageSent))) this.emitUsage();
  }

  protected onEvent(e: EventSourceMessage): void {
    this.onData(e.data);
  }

  private emitUsage(): void {
    this.out.push({ type: 'usage', usage: this.usage! });
    this.usageSent = this.usage;
  }

  private onData(data: string): void {
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      // At the end this is the tail of a cut-off stream, which the missing finish already tells.
      if (!this.ending) this.out.push({ type: 'error', status: 502, message: 'The Gemini backend sent a stream chunk that is not JSON.' });
      return;
    }
    if (!isRecord(chunk)) return;
    // Function call args are re-serialised as argument text, which would overflow the stack past the limit.
    if (nestedDeeperThan(chunk)) {
      this.out.push({ type: 'error', status: 502, message: tooDeepMessage('A stream chunk from the Gemini backend') });
      return;
    }
    if (isRecord(chunk.error)) {
      const e = chunk.error;
      const status = typeof e.code === 'number' && e.code >= 400 && e.code <= 599 ? e.code : 500;
      this.out.push({ type: 'error', status, message: typeof e.message === 'string' ? e.message : 'The Gemini backend reported an error.' });
      return;
    }
    if (!this.started) {
      this.started = true;
      this.out.push({ type: 'start', id: typeof chunk.responseId === 'string' ? chunk.responseId : '', model: bareModel(chunk.modelVersion) });
    }
    const candidate = Array.isArray(chunk.candidates) ? chunk.candidates[0] : undefined;
    for (const part of candidateParts(candidate, this.calls)) {
      if (part.type === 'text') this.out.push({ type: 'text', text: part.text });
      else if (part.type === 'tool_call') {
        const index = this.calls++;
        this.out.push({ type: 'tool_call_start', index, id: part.id, name: part.name });
        this.out.push({ type: 'tool_call_delta', index, arguments: part.arguments });
      }
    }
    const usage = fromGeminiUsage(chunk.usageMetadata);
    if (usage) this.usage = usage;

    if (this.finished) return;
    let reason: FinishReason | undefined;
    if (isRecord(candidate) && typeof candidate.finishReason === 'string') reason = fromGeminiFinish(candidate.finishReason, this.calls > 0);
    else if (isRecord(chunk.promptFeedback) && typeof chunk.promptFeedback.blockReason === 'string') reason = 'content_filter';
    if (reason === undefined) return;
    this.finished = true;
    this.out.push({ type: 'finish', reason });
    if (this.usage) this.emitUsage();
  }
}

const ABORTED_MESSAGE = 'The model backend stream ended before the answer was complete.';

interface PendingCall {
  id: string;
  name: string;
  args: string;
}

/**
 * Writes Gemini's SSE for the caller. Text goes out as it comes. Function calls are whole in
 * Gemini, so their argument pieces are gathered and the call sent once it is complete (when text,
 * the finish or the end follows). The last chunk carries finishReason and usageMetadata, so the
 * finish is held until usage arrives or the stream ends.
 */
export class GeminiStreamEncoder implements StreamEncoder {
  private readonly calls = new Map<number, PendingCall>();
  private finish: FinishReason | undefined;
  private usage: Usage | undefined;
  private malformedCall = false;
  private closed = false;

  constructor(private readonly ctx: EncoderContext) {}

  encode(events: StreamEvent[]): string {
    let out = '';
    for (const e of events) {
      if (this.closed) break;
      switch (e.type) {
        case 'start':
          break;
        case 'text':
          out += this.flushCalls();
          if (e.text !== '') out += this.chunk({ content: { parts: [{ text: e.text }], role: 'model' }, index: 0 });
          break;
        case 'tool_call_start':
          this.calls.set(e.index, { id: e.id, name: e.name, args: '' });
          break;
        case 'tool_call_delta': {
          const call = this.calls.get(e.index);
          if (call) call.args += e.arguments;
          break;
        }
        case 'finish':
          this.finish = e.reason;
          out += this.flushCalls();
          if (this.usage) out += this.final(this.finishReason(e.reason));
          break;
        case 'usage':
          this.usage = e.usage;
          if (this.finish) out += this.final(this.finishReason(this.finish));
          break;
        case 'error':
          out += this.flushCalls();
          out += this.frame({ error: { code: e.status, message: e.message, status: googleStatusFor(kindForStatus(e.status)) } });
          this.closed = true;
          break;
      }
    }
    return out;
  }

  /**
   * Closes the caller's stream. Cut off (`aborted`), it ends as Google ends a stream that fails
   * after it began: with an event holding an error object (the SDKs raise it), after the complete
   * calls still held (a call still being written is dropped). A finish would read as a whole answer.
   */
  end(aborted: boolean): string {
    if (this.closed) return '';
    const out = this.flushCalls(aborted);
    if (aborted) {
      this.closed = true;
      return out + this.frame({ error: { code: 502, message: ABORTED_MESSAGE, status: googleStatusFor('upstream') } });
    }
    return out + this.final(this.finish === undefined ? 'OTHER' : this.finishReason(this.finish));
  }

  private finishReason(reason: FinishReason): GeminiFinishReason {
    const r = toGeminiFinish(reason);
    return this.malformedCall && r !== 'MAX_TOKENS' ? 'MALFORMED_FUNCTION_CALL' : r;
  }

  private flushCalls(dropIncomplete = false): string {
    if (this.calls.size === 0) return '';
    const parts: Array<Record<string, unknown>> = [];
    for (const index of [...this.calls.keys()].sort((a, b) => a - b)) {
      const call = this.calls.get(index)!;
      const args = argsObject(call.args);
      if (args) parts.push({ functionCall: { id: call.id, name: call.name, args } });
      else if (!dropIncomplete) this.malformedCall = true;
    }
    this.calls.clear();
    return parts.length > 0 ? this.chunk({ content: { parts, role: 'model' }, index: 0 }) : '';
  }

  private final(reason: GeminiFinishReason): string {
    this.closed = true;
    // The SDK's chat history keeps a streamed answer only if every chunk has content; a blocked
    // answer has none, as in Gemini.
    const candidate: Record<string, unknown> = {};
    if (this.finish !== 'content_filter') candidate.content = { parts: [{ text: '' }], role: 'model' };
    candidate.finishReason = reason;
    candidate.index = 0;
    return this.chunk(candidate, this.usage);
  }

  private chunk(candidate: Record<string, unknown>, usage?: Usage): string {
    const body: Record<string, unknown> = { candidates: [candidate] };
    if (usage) body.usageMetadata = toGeminiUsage(usage);
    body.modelVersion = this.ctx.model;
    body.responseId = this.ctx.id;
    return this.frame(body);
  }

  // Gemini separates events with CRLF pairs.
  private frame(body: unknown): string {
    return `data: ${JSON.stringify(body)}\r\n\r\n`;
  }
}
