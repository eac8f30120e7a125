import type { EventSourceMessage } from 'eventsource-parser';
import { SseDecoder } from '../canonical/sse-decoder.js';
import { GatewayError, kindForStatus } from '../../errors.js';
import { nestedDeeperThan, tooDeepMessage } from '../../util/json-depth.js';
import type { Usage } from '../../metering/usage.js';
import type { EncoderContext, StreamEncoder, StreamEvent } from '../canonical/types.js';
import { renderOpenAIError } from './errors.js';
import { finishFromOpenAI, finishToOpenAI } from './finish.js';
import { argumentsText } from './response.js';
import { fromOpenAIUsage, toOpenAIUsage } from './usage.js';

type Rec = Record<string, unknown>;

const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Status for an error object sent inside a stream. OpenAI gives no status there; compatible
 * servers (vLLM) put it in `code`.
 */
function inStreamStatus(error: Rec): number {
  if (typeof error.code === 'number' && error.code >= 400 && error.code <= 599) return error.code;
  const label = `${String(error.type ?? '')} ${String(error.code ?? '')}`;
  if (/rate_limit|requests|tokens/.test(label)) return 429;
  if (/invalid_request/.test(label)) return 400;
  return 502;
}

/** chat.completion.chunk SSE from an OpenAI-format backend, as canonical stream events. */
export class OpenAIStreamDecoder extends SseDecoder {
  private started = false;
  private finished = false;
  private done = false;
  private usage: Usage | undefined;
  private usageSent = false;
  /** Backend tool call slot (its `index`) -> the call's canonical index and id. */
  private readonly calls = new Map<number, { index: number; id: string }>();
  private callCount = 0;

  protected override onEnd(): void {
    this.flushUsage();
  }

  protected onEvent(e: EventSourceMessage): void {
    this.onData(e.data);
  }

  /**
   * Usage is held until `[DONE]` or the end: OpenAI sends it in a chunk after the finish, but
   * compatible servers put it on the finish chunk or on every chunk, and only the last counts.
   */
  private flushUsage(): void {
    if (this.usage && !this.usageSent) {
      this.usageSent = true;
      this.out.push({ type: 'usage', usage: this.usage });
    }
  }

  private onData(data: string): void {
    if (this.done) return;
    if (data.trim() === '[DONE]') {
      this.done = true;
      this.flushUsage();
      return;
    }
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      return; // not a chunk (keep-alive noise); the next one is read as usual
    }
    if (!isRec(chunk)) return;
    // Arguments sent as objects are re-serialised, which would overflow the stack past the limit.
    if (nestedDeeperThan(chunk)) {
      this.out.push({ type: 'error', message: tooDeepMessage('A stream chunk from the backend'), status: 502 });
      return;
    }
    if (isRec(chunk.error)) {
      const message = typeof chunk.error.message === 'string' ? chunk.error.message : 'The backend reported an error mid-stream.';
      this.out.push({ type: 'error', message, status: inStreamStatus(chunk.error) });
      return;
    }
    if (!this.started) {
      this.started = true;
      this.out.push({ type: 'start', id: typeof chunk.id === 'string' ? chunk.id : '', model: typeof chunk.model === 'string' ? chunk.model : '' });
    }
    const choices = Array.isArray(chunk.choices) ? (chunk.choices as unknown[]) : [];
    const choice = choices.find((c) => isRec(c) && (c.index === 0 || c.index === undefined));
    if (isRec(choice)) this.onChoice(choice);
    const usage = fromOpenAIUsage(chunk.usage);
    if (usage) this.usage = usage;
  }

  private onChoice(choice: Rec): void {
    const delta = isRec(choice.delta) ? choice.delta : {};
    if (typeof delta.content === 'string' && delta.content !== '') this.out.push({ type: 'text', text: delta.content });
    if (typeof delta.refusal === 'string' && delta.refusal !== '') this.out.push({ type: 'text', text: delta.refusal });
    if (Array.isArray(delta.tool_calls)) {
      (delta.tool_calls as unknown[]).forEach((tc, position) => {
        if (isRec(tc)) this.onToolCall(tc, position);
      });
    }
    if (typeof choice.finish_reason === 'string' && !this.finished) {
      this.finished = true;
      let reason = finishFromOpenAI(choice.finish_reason);
      // Some compatible servers say `stop` after tool calls; other formats' callers key on the tool-use reason.
      if (reason === 'stop' && this.calls.size > 0) reason = 'tool_calls';
      this.out.push({ type: 'finish', reason });
    }
  }

  private onToolCall(tc: Rec, position: number): void {
    // Servers that send each call whole in one delta sometimes leave out `index`.
    const slot = typeof tc.index === 'number' ? tc.index : position;
    const fn = isRec(tc.function) ? tc.function : {};
    const id = typeof tc.id === 'string' && tc.id !== '' ? tc.id : undefined;
    let call = this.calls.get(slot);
    if (!call || (id !== undefined && id !== call.id)) {
      const index = this.callCount++;
      call = { index, id: id ?? `call_${index}` };
      this.calls.set(slot, call);
      this.out.push({ type: 'tool_call_start', index, id: call.id, name: typeof fn.name === 'string' ? fn.name : '' });
    }
    const args = typeof fn.arguments === 'string' ? fn.arguments : isRec(fn.arguments) ? argumentsText(fn.arguments) : '';
    if (args !== '') this.out.push({ type: 'tool_call_delta', index: call.index, arguments: args });
  }
}

const ABORTED_MESSAGE = 'The upstream stream ended before the response was complete.';

/** Canonical stream events as chat.completion.chunk SSE for an OpenAI caller. */
export class OpenAIStreamEncoder implements StreamEncoder {
  private roleSent = false;
  private finishSent = false;
  private closed = false;
  private usage: Usage | undefined;

  constructor(private readonly ctx: EncoderContext) {}

  encode(events: StreamEvent[]): string {
    let out = '';
    for (const e of events) {
      if (this.closed) break;
      switch (e.type) {
        case 'start':
          out += this.role();
          break;
        case 'text':
          if (e.text !== '') out += this.role() + this.chunk({ content: e.text });
          break;
        case 'tool_call_start':
          out += this.role() + this.chunk({ tool_calls: [{ index: e.index, id: e.id, type: 'function', function: { name: e.name, arguments: '' } }] });
          break;
        case 'tool_call_delta':
          if (e.arguments !== '') out += this.role() + this.chunk({ tool_calls: [{ index: e.index, function: { arguments: e.arguments } }] });
          break;
        case 'finish':
          if (!this.finishSent) {
            this.finishSent = true;
            out += this.role() + this.chunk({}, finishToOpenAI(e.reason));
          }
          break;
        case 'usage':
          // Held for the usage chunk, which OpenAI sends after the finish chunk.
          this.usage = e.usage;
          break;
        case 'error':
          out += this.error(e.message, e.status);
          break;
      }
    }
    return out;
  }

  end(aborted: boolean): string {
    if (this.closed) return '';
    // The SDKs turn a data line carrying `error` into a thrown APIError; [DONE] would read as success.
    if (aborted) return this.error(ABORTED_MESSAGE, 502);
    this.closed = true;
    let out = this.role();
    if (!this.finishSent) out += this.chunk({}, 'stop');
    if (this.ctx.includeUsage && this.usage) out += this.data({ ...this.envelope(), choices: [], usage: toOpenAIUsage(this.usage) });
    return `${out}data: [DONE]\n\n`;
  }

  private error(message: string, status: number): string {
    this.closed = true;
    return `data: ${renderOpenAIError(new GatewayError(kindForStatus(status), message))}\n\n`;
  }

  private role(): string {
    if (this.roleSent) return '';
    this.roleSent = true;
    return this.chunk({ role: 'assistant', content: '' });
  }

  private envelope(): Rec {
    return { id: this.ctx.id, object: 'chat.completion.chunk', created: this.ctx.created, model: this.ctx.model };
  }

  private chunk(delta: Rec, finishReason: string | null = null): string {
    const body: Rec = { ...this.envelope(), choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] };
    // With include_usage OpenAI sends `usage: null` on every chunk but the last.
    if (this.ctx.includeUsage) body.usage = null;
    return this.data(body);
  }

  private data(body: Rec): string {
    return `data: ${JSON.stringify(body)}\n\n`;
  }
}
