import type { Usage } from '../metering/usage.js';
import { FORMATS } from '../providers/formats.js';
import { checkOpenAIStreamEvent, OpenAIStreamTap } from '../providers/openai/stream.js';
import { fromOpenAIUsage } from '../providers/openai/usage.js';
import { checkedUsageObject } from '../providers/openai/usage-slice.js';
import type { AnswerReader } from './reader.js';
import { StreamGuard } from './stream-guard.js';
import { errorEventFor, unreadableAnswer } from './unreadable.js';

/**
 * An OpenAI answer for an OpenAI caller: the bytes pass through, read only for usage and checked
 * cheaply on their way. In a stream, the usage chunk the gateway asked for is hidden again when
 * the caller did not ask, and a corrupt or cut stream ends with an error event (StreamGuard); a
 * whole answer is sliced for its usage object rather than parsed whole, and one that does not
 * read as a chat completion is a 502.
 */
export class OpenAIPassthrough implements AnswerReader {
  private readonly tap: OpenAIStreamTap | undefined;
  private readonly guard: StreamGuard | undefined;
  private wholeUsage: Usage | undefined;

  constructor(o: {
    stream: boolean;
    /** The caller asked for stream_options.include_usage. */
    callerWantsUsage: boolean;
    /** The model the caller named (for an error event the gateway writes). */
    callerModel?: string;
  }) {
    if (!o.stream) return;
    const tap = new OpenAIStreamTap(!o.callerWantsUsage);
    this.tap = tap;
    this.guard = new StreamGuard(
      'sse',
      (event) => {
        const check = checkOpenAIStreamEvent(event);
        if (check === 'bad') return check;
        return tap.read(event) ? 'hide' : check;
      },
      errorEventFor(FORMATS.openai, o.callerModel ?? ''),
    );
  }

  get failed(): boolean {
    return this.guard?.failed ?? false;
  }

  get usage(): Usage | undefined {
    return this.tap ? this.tap.usage : this.wholeUsage;
  }

  /** OpenAI streams carry about one token per chunk: the chunks read, less the opening one. */
  deliveredTokens(): number {
    return this.tap ? Math.max(0, this.tap.events - 1) : 0;
  }

  contentType(): undefined {
    return undefined;
  }

  chunk(body: Buffer, endOfStream: boolean): Buffer | undefined {
    return this.guard?.push(body, endOfStream);
  }

  /**
   * Framed as a JSON object, its usage sliced out (or, where it cannot be, parsed whole as a
   * chat completion): else it throws `unreadableAnswer`.
   */
  whole(body: Buffer): undefined {
    const read = checkedUsageObject(body.toString('utf8'));
    if (!read) throw unreadableAnswer();
    this.wholeUsage = fromOpenAIUsage(read.usage);
    return undefined;
  }
}
