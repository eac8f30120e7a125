import type { Usage } from '../metering/usage.js';
import type { CanonicalResponse, FinishReason, Part, StreamEvent } from '../providers/canonical/types.js';

type TextPart = { type: 'text'; pieces: string[] };
type CallPart = { type: 'tool_call'; id: string; name: string; args: string[] };

/**
 * Builds the canonical answer of a stream from its canonical events (what
 * `FORMATS[F].createStreamDecoder()` emits for a stream in format F), whatever API the stream
 * came in. Parts keep the order they began in: text pieces are joined into one text part until
 * a tool call starts; each tool call is filled by its `index` (its deltas may interleave with
 * other calls') with its arguments joined.
 *
 * result() is the answer only once the stream has ended with a finish event and without an error
 * event; otherwise it is undefined and `problem` says why, so a cut-off or failed stream is never
 * taken for a complete answer. Whether the answer is worth storing (usage known, the finish
 * reason…) is isCacheableResponse's call.
 */
export class CanonicalAssembler {
  private id = '';
  private model = '';
  private readonly parts: Array<TextPart | CallPart> = [];
  private readonly calls = new Map<number, CallPart>();
  private finish: FinishReason | undefined;
  private usage: Usage | undefined;
  private ended = false;
  private failure: string | undefined;

  /** Feeds decoded events in stream order. Events after end() or after a failure are ignored. */
  push(events: readonly StreamEvent[]): void {
    for (const e of events) {
      if (this.ended || this.failure !== undefined) return;
      this.one(e);
    }
  }

  /** The stream is over (its last bytes decoded and pushed). */
  end(): void {
    this.ended = true;
  }

  /** Why result() is undefined, or undefined when it is not. */
  get problem(): string | undefined {
    if (this.failure !== undefined) return this.failure;
    if (!this.ended) return 'the stream has not ended';
    if (this.finish === undefined) return 'the stream ended without a finish reason (cut off)';
    return undefined;
  }

  result(): CanonicalResponse | undefined {
    if (this.problem !== undefined) return undefined;
    const content: Part[] = this.parts.map((p) =>
      p.type === 'text' ? { type: 'text', text: p.pieces.join('') } : { type: 'tool_call', id: p.id, name: p.name, arguments: p.args.join('') },
    );
    const out: CanonicalResponse = { id: this.id, model: this.model, content, finishReason: this.finish! };
    if (this.usage) out.usage = this.usage;
    return out;
  }

  private one(e: StreamEvent): void {
    switch (e.type) {
      case 'start':
        this.id = e.id;
        this.model = e.model;
        return;
      case 'text': {
        if (e.text === '') return;
        const last = this.parts[this.parts.length - 1];
        if (last?.type === 'text') last.pieces.push(e.text);
        else this.parts.push({ type: 'text', pieces: [e.text] });
        return;
      }
      case 'tool_call_start': {
        if (this.calls.has(e.index)) return this.fail(`tool call ${e.index} started twice`);
        const call: CallPart = { type: 'tool_call', id: e.id, name: e.name, args: [] };
        this.calls.set(e.index, call);
        this.parts.push(call);
        return;
      }
      case 'tool_call_delta': {
        const call = this.calls.get(e.index);
        if (!call) return this.fail(`arguments for tool call ${e.index}, which never started`);
        call.args.push(e.arguments);
        return;
      }
      case 'finish':
        // Decoders emit one finish; should a second come, the first described the answer.
        this.finish ??= e.reason;
        return;
      case 'usage':
        // Some APIs report running totals; the last report is the final one.
        this.usage = e.usage;
        return;
      case 'error':
        return this.fail(`the stream carried an error (${e.status}): ${e.message}`);
    }
  }

  private fail(why: string): void {
    this.failure = why;
  }
}
