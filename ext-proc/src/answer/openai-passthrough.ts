import type { Usage } from '../metering/usage.js';
import { OpenAIStreamTap } from '../providers/openai/stream.js';
import { fromOpenAIUsage } from '../providers/openai/usage.js';
import { extractUsageObject } from '../providers/openai/usage-slice.js';
import type { AnswerReader } from './reader.js';

/**
 * An OpenAI answer for an OpenAI caller: the bytes pass through, read only for usage. In a
 * stream, the usage chunk the gateway asked for is hidden again when the caller did not ask;
 * a whole answer is sliced for its usage object rather than parsed whole.
 */
export class OpenAIPassthrough implements AnswerReader {
  private readonly tap: OpenAIStreamTap | undefined;
  private wholeUsage: Usage | undefined;

  constructor(o: {
    stream: boolean;
    /** The caller asked for stream_options.include_usage. */
    callerWantsUsage: boolean;
  }) {
    if (o.stream) this.tap = new OpenAIStreamTap(!o.callerWantsUsage);
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
    return this.tap?.push(body, endOfStream);
  }

  whole(body: Buffer): undefined {
    try {
      this.wholeUsage = fromOpenAIUsage(extractUsageObject(body.toString('utf8')));
    } catch {
      // Not JSON: it passes unchanged, usage unknown (the meter says so).
    }
    return undefined;
  }
}
