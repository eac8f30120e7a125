import type { EventSourceMessage } from 'eventsource-parser';
import { SseDecoder } from '../canonical/sse-decoder.js';
import { framedAsObject, parseObject, readSseEvent, type StreamEventCheck } from '../canonical/stream-check.js';
import { kindForStatus } from '../../errors.js';
import { nestedDeeperThan, tooDeepMessage } from '../../util/json-depth.js';
import type { Usage } from '../../metering/usage.js';
import type { EncoderContext, FinishReason, StreamEncoder, StreamEvent } from '../canonical/types.js';
import { anthropicErrorBody, anthropicErrorType, statusForAnthropicErrorType } from './errors.js';
import { fromAnthropicStopReason, toAnthropicStopReason } from './stop-reason.js';
import { fromAnthropicUsage, overlayAnthropicUsage, readAnthropicUsage, toAnthropicUsage, type AnthropicUsageCounters } from './usage.js';

/*
 * Anthropic's stream: message_start, then per content block content_block_start,
 * content_block_delta..., content_block_stop, then message_delta (stop_reason, cumulative usage)
 * and message_stop; `ping` may appear anywhere and `error` ends the stream early.
 */

type Json = Record<string, unknown>;

/**
 * One complete event of an Anthropic stream, checked without parsing it: data framed as a JSON
 * object; `message_stop` (or an `error` event) ends the stream. Anthropic names every event; an
 * unnamed one is told by its data's `type`.
 */
export function checkAnthropicStreamEvent(event: string): StreamEventCheck {
  const e = readSseEvent(event);
  if (!e) return 'bad';
  const data = e.data;
  if (data === undefined) return 'pass';
  if (!framedAsObject(data)) return 'bad';
  const name = e.name ?? (data.includes('"message_stop"') || data.includes('"error"') ? parseObject(data)?.type : undefined);
  return name === 'message_stop' || name === 'error' ? 'last' : 'pass';
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

type BlockState = { kind: 'text' } | { kind: 'tool'; toolIndex: number; startInput: unknown; sawArguments: boolean } | { kind: 'other' };

/** Anthropic SSE bytes, chunk by chunk, into canonical stream events. */
export class AnthropicStreamDecoder extends SseDecoder {
  private readonly blocks = new Map<number, BlockState>();
  private toolCount = 0;
  private usage: AnthropicUsageCounters | undefined;
  private usageSent = false;
  private finishSent = false;

  protected override onEnd(): void {
    this.emitUsage();
  }

  private emitUsage(): void {
    if (this.usageSent || !this.usage) return;
    this.usageSent = true;
    this.out.push({ type: 'usage', usage: fromAnthropicUsage(this.usage) });
  }

  protected onEvent(e: EventSourceMessage): void {
    let data: unknown;
    try {
      data = JSON.parse(e.data);
    } catch {
      return;
    }
    if (!isObject(data)) return;
    // Tool input is re-serialised as argument text, which would overflow the stack past the limit.
    if (nestedDeeperThan(data)) {
      this.out.push({ type: 'error', message: tooDeepMessage('A stream event from the backend'), status: 502 });
      return;
    }
    const type = typeof data.type === 'string' ? data.type : e.event;
    switch (type) {
      case 'message_start': {
        const message = isObject(data.message) ? data.message : {};
        this.out.push({ type: 'start', id: str(message.id), model: str(message.model) });
        this.usage = overlayAnthropicUsage(this.usage, readAnthropicUsage(message.usage));
        return;
      }
      case 'content_block_start':
        return this.blockStart(data);
      case 'content_block_delta':
        return this.blockDelta(data);
      case 'content_block_stop':
        return this.blockStop(data);
      case 'message_delta': {
        const delta = isObject(data.delta) ? data.delta : {};
        if (!this.finishSent && typeof delta.stop_reason === 'string') {
          this.finishSent = true;
          this.out.push({ type: 'finish', reason: fromAnthropicStopReason(delta.stop_reason) });
        }
        this.usage = overlayAnthropicUsage(this.usage, readAnthropicUsage(data.usage));
        return;
      }
      case 'message_stop':
        return this.emitUsage();
      case 'error': {
        const error = isObject(data.error) ? data.error : {};
        const errorType = typeof error.type === 'string' ? error.type : undefined;
        this.out.push({
          type: 'error',
          message: str(error.message) || 'The backend stream reported an error.',
          status: statusForAnthropicErrorType(errorType),
        });
        return;
      }
      default:
        // ping, and event types added after this was written
        return;
    }
  }

  private blockStart(data: Json): void {
    if (typeof data.index !== 'number' || !isObject(data.content_block)) return;
    const block = data.content_block;
    if (block.type === 'text') {
      this.blocks.set(data.index, { kind: 'text' });
      if (str(block.text) !== '') this.out.push({ type: 'text', text: str(block.text) });
    } else if (block.type === 'tool_use') {
      const toolIndex = this.toolCount++;
      this.blocks.set(data.index, { kind: 'tool', toolIndex, startInput: block.input, sawArguments: false });
      this.out.push({ type: 'tool_call_start', index: toolIndex, id: str(block.id), name: str(block.name) });
    } else {
      // thinking, server tools: nothing a caller of another format can receive
      this.blocks.set(data.index, { kind: 'other' });
    }
  }

  private blockDelta(data: Json): void {
    const block = typeof data.index === 'number' ? this.blocks.get(data.index) : undefined;
    const delta = isObject(data.delta) ? data.delta : undefined;
    if (!block || !delta) return;
    if (block.kind === 'text' && delta.type === 'text_delta') {
      const text = str(delta.text);
      if (text !== '') this.out.push({ type: 'text', text });
    } else if (block.kind === 'tool' && delta.type === 'input_json_delta') {
      const json = str(delta.partial_json);
      if (json === '') return;
      if (json.trim() !== '') block.sawArguments = true;
      this.out.push({ type: 'tool_call_delta', index: block.toolIndex, arguments: json });
    }
  }

  private blockStop(data: Json): void {
    const block = typeof data.index === 'number' ? this.blocks.get(data.index) : undefined;
    // Canonical arguments are always a JSON object text; a call streamed without input deltas
    // (no arguments) carries its input, usually `{}`, only in content_block_start.
    if (block?.kind === 'tool' && !block.sawArguments) {
      block.sawArguments = true;
      const input = isObject(block.startInput) ? block.startInput : {};
      this.out.push({ type: 'tool_call_delta', index: block.toolIndex, arguments: JSON.stringify(input) });
    }
  }
}

function sse(type: string, data: Json): string {
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

const ABORT_MESSAGE = 'The upstream stream ended before the answer was complete.';

/**
 * Canonical stream events into Anthropic SSE for the caller. Text is written as it arrives.
 *
 * Backends of other formats may report usage only at the very end (OpenAI's last chunk), so
 * message_start carries zeros when nothing is known yet and message_delta carries the final
 * input and output counts; the official SDK overwrites input_tokens from message_delta when present.
 */
export class AnthropicStreamEncoder implements StreamEncoder {
  private started = false;
  private pinged = false;
  private done = false;
  private nextBlock = 0;
  private open: { index: number; kind: 'text' | 'tool' } | undefined;
  /** Canonical tool call index -> content block index. */
  private readonly toolBlocks = new Map<number, number>();
  private finish: FinishReason | undefined;
  private usage: Usage | undefined;

  constructor(private readonly ctx: EncoderContext) {}

  encode(events: StreamEvent[]): string {
    let out = '';
    for (const e of events) out += this.one(e);
    return out;
  }

  end(aborted: boolean): string {
    if (this.done) return '';
    if (aborted) {
      this.done = true;
      // The SDKs turn an `error` event into a thrown API error instead of a silently short answer.
      return sse('error', anthropicErrorBody('api_error', ABORT_MESSAGE));
    }
    return this.finalize();
  }

  private one(e: StreamEvent): string {
    if (this.done) return '';
    switch (e.type) {
      case 'start':
        return this.ensureStarted();
      case 'text':
        if (e.text === '') return '';
        return this.openBlock('text', { type: 'text', text: '' }) + this.delta(this.open!.index, { type: 'text_delta', text: e.text });
      case 'tool_call_start': {
        const out = this.openBlock('tool', { type: 'tool_use', id: e.id, name: e.name, input: {} }, true);
        this.toolBlocks.set(e.index, this.open!.index);
        return out;
      }
      case 'tool_call_delta': {
        const index = this.toolBlocks.get(e.index);
        if (index === undefined || e.arguments === '') return '';
        // Deltas of an earlier call arriving after a later block started keep that call's block
        // index: the SDKs accumulate by index, and the arguments must not be lost.
        return this.delta(index, { type: 'input_json_delta', partial_json: e.arguments });
      }
      case 'finish':
        this.finish = e.reason;
        return this.usage ? this.finalize() : '';
      case 'usage':
        this.usage = e.usage;
        return this.finish ? this.finalize() : '';
      case 'error':
        this.done = true;
        return sse('error', anthropicErrorBody(anthropicErrorType(kindForStatus(e.status)), e.message));
    }
  }

  private ensureStarted(): string {
    if (this.started) return '';
    this.started = true;
    const usage = this.usage ? toAnthropicUsage(this.usage) : { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
    return sse('message_start', {
      type: 'message_start',
      message: {
        id: this.ctx.id,
        type: 'message',
        role: 'assistant',
        model: this.ctx.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage,
      },
    });
  }

  /** Starts a block of `kind` unless one is already open; a tool call always starts its own block. */
  private openBlock(kind: 'text' | 'tool', contentBlock: Json, always = false): string {
    if (!always && this.open?.kind === kind) return '';
    let out = this.ensureStarted() + this.closeBlock();
    const index = this.nextBlock++;
    this.open = { index, kind };
    out += sse('content_block_start', { type: 'content_block_start', index, content_block: contentBlock });
    if (!this.pinged) {
      // Where the documented stream places its ping.
      this.pinged = true;
      out += sse('ping', { type: 'ping' });
    }
    return out;
  }

  private closeBlock(): string {
    if (!this.open) return '';
    const { index } = this.open;
    this.open = undefined;
    return sse('content_block_stop', { type: 'content_block_stop', index });
  }

  private delta(index: number, delta: Json): string {
    return sse('content_block_delta', { type: 'content_block_delta', index, delta });
  }

  private finalize(): string {
    this.done = true;
    const out = this.ensureStarted() + this.closeBlock();
    const stopReason = toAnthropicStopReason(this.finish ?? 'stop');
    return (
      out +
      sse('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: stopReason, stop_sequence: null },
        usage: this.usage ? toAnthropicUsage(this.usage) : { output_tokens: 0 },
      }) +
      sse('message_stop', { type: 'message_stop' })
    );
  }
}
