import type { Usage } from '../metering/usage.js';
import type { WireFormat } from '../providers/canonical/format.js';
import type { StreamDecoder, StreamEncoder, StreamEvent } from '../providers/canonical/types.js';
import { responseId } from '../providers/formats.js';
import type { Originals } from '../safety/pii/restore.js';
import { estimateTokens, type AnswerReader } from './reader.js';
import { RestoringEvents } from './restore-events.js';
import { StreamGuard } from './stream-guard.js';
import { errorEventFor, unreadableAnswer } from './unreadable.js';

/**
 * Reads an answer in any API (usage, always) and, when the caller speaks another one, rewrites
 * it into the caller's: a whole JSON answer at once, a stream event by event as its chunks
 * arrive (nothing is held back beyond an unfinished event). Between ends of the same API the
 * bytes pass unchanged, checked on their way: a whole answer must read as one, and a stream is
 * guarded (StreamGuard) so that a corrupt or cut one ends with an error event in the caller's API.
 */
export class AnswerTranslator implements AnswerReader {
  usage: Usage | undefined;
  /** The backend stream reached its finish event (a cut stream never does). */
  finished = false;
  /** The stream reported an error, or was cut or corrupt: the caller's ended with an error. */
  failed = false;
  private readonly translating: boolean;
  private decoder: StreamDecoder | undefined;
  private encoder: StreamEncoder | undefined;
  private readonly guard: StreamGuard | undefined;
  private readonly restoring: RestoringEvents | undefined;
  /** Characters of text and tool-call arguments read from the stream. */
  private outputChars = 0;

  constructor(
    private readonly caller: WireFormat,
    private readonly backend: WireFormat,
    private readonly o: {
      stream: boolean;
      callerModel: string;
      includeUsage: boolean;
      /**
       * Placeholder → value (PII redaction with restore): the stream's text goes back with the
       * values in it, re-encoded even between same-API ends. Whole answers are restored by the caller.
       */
      restore?: Originals;
    },
  ) {
    this.translating = caller.id !== backend.id;
    if (o.stream) {
      this.decoder = backend.createStreamDecoder();
      if (o.restore) this.restoring = new RestoringEvents(o.restore);
      if (this.translating || this.restoring) {
        this.encoder = caller.createStreamEncoder({ id: responseId(caller.id), model: o.callerModel, created: nowSeconds(), includeUsage: o.includeUsage });
      } else {
        this.guard = new StreamGuard(backend.streamFraming, backend.checkStreamEvent, errorEventFor(caller, o.callerModel));
      }
    }
  }

  deliveredTokens(): number {
    return estimateTokens(this.outputChars);
  }

  /** `content-type` of the caller's answer when it is rewritten; undefined when bytes pass unchanged. */
  contentType(): string | undefined {
    if (!this.translating && !this.restoring) return undefined;
    return this.o.stream ? this.caller.streamContentType : 'application/json';
  }

  /** One stream chunk; returns the caller's bytes, or undefined to pass the chunk unchanged. */
  chunk(body: Buffer, eos: boolean): Buffer | undefined {
    if (this.guard) {
      // The decoder reads what the caller gets (usage, the finish, what was delivered).
      const out = this.guard.push(body, eos);
      this.read(out ?? body, eos);
      if (this.guard.failed) this.failed = true;
      return out;
    }
    let events = this.read(body, eos);
    if (!this.encoder) return undefined;
    if (this.restoring) {
      events = this.restoring.push(events);
      if (eos) events.push(...this.restoring.end());
    }
    let out = this.encoder.encode(events);
    if (eos) {
      out += this.encoder.end(!this.finished);
      if (!this.finished) this.failed = true;
    }
    return Buffer.from(out, 'utf8');
  }

  private read(body: Buffer, eos: boolean): StreamEvent[] {
    const events = this.decoder!.push(body);
    if (eos) events.push(...this.decoder!.end());
    for (const e of events) {
      if (e.type === 'usage') this.usage = e.usage;
      else if (e.type === 'finish') this.finished = true;
      else if (e.type === 'text') this.outputChars += e.text.length;
      else if (e.type === 'tool_call_delta') this.outputChars += e.arguments.length;
      else if (e.type === 'error') this.failed = true;
    }
    return events;
  }

  /**
   * A whole (non-stream) answer. Returns the caller's body when translating. An answer that does
   * not read as one of the backend's API (truncated, not JSON, empty) throws `unreadableAnswer`:
   * a 502 for the caller, whether it needed translating or not.
   */
  whole(body: Buffer): Buffer | undefined {
    let answer: ReturnType<WireFormat['parseResponse']>;
    try {
      answer = this.backend.parseResponse(JSON.parse(body.toString('utf8')));
    } catch {
      throw unreadableAnswer();
    }
    this.usage = answer.usage;
    this.finished = true;
    if (!this.translating) return undefined;
    const rendered = this.caller.renderResponse(answer, { id: responseId(this.caller.id), model: this.o.callerModel, created: nowSeconds() });
    return Buffer.from(JSON.stringify(rendered), 'utf8');
  }
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
