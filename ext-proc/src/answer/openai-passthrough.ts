import type { ChatStreamAssembler } from '../cache/assemble.js';
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
  private readonly onWhole: ((completion: unknown, bytes: Buffer) => void) | undefined;
  private wholeUsage: Usage | undefined;

  constructor(o: {
    stream: boolean;
    /** The caller asked for stream_options.include_usage. */
    callerWantsUsage: boolean;
    /** Sees every parsed chunk (the response cache rebuilds the answer from them). */
    assembler?: ChatStreamAssembler;
    /** Sees a whole answer's parsed JSON (the response cache stores it). */
    onWhole?: (completion: unknown, bytes: Buffer) => void;
  }) {
    if (o.stream) this.tap = new OpenAIStreamTap(!o.callerWantsUsage, o.assembler);
    this.onWhole = o.onWhole;
  }

  get usage(): Usage | undefined {
    return this.tap ? this.tap.usage : this.wholeUsage;
  }

  contentType(): undefined {
    return undefined;
  }

  chunk(body: Buffer, endOfStream: boolean): Buffer | undefined {
    return this.tap?.push(body, endOfStream);
  }

  whole(body: Buffer): undefined {
    try {
      if (this.onWhole) {
        // The cache needs the whole answer parsed anyway.
        const completion = JSON.parse(body.toString('utf8')) as { usage?: unknown };
        this.wholeUsage = fromOpenAIUsage(completion.usage);
        this.onWhole(completion, body);
      } else {
        this.wholeUsage = fromOpenAIUsage(extractUsageObject(body.toString('utf8')));
      }
    } catch {
      // Not JSON: it passes unchanged, usage unknown (the meter says so).
    }
    return undefined;
  }
}
