import type { CanonicalResponse, FormatId, StreamDecoder } from '../providers/canonical/types.js';
import { FORMATS } from '../providers/formats.js';
import { OpenAIStreamTap } from '../providers/openai/stream.js';
import { ChatStreamAssembler, isCacheableCompletion } from './assemble.js';
import { CanonicalAssembler } from './canonical-assembler.js';
import { isCacheableResponse, type CacheEntry } from './entry.js';
import { streamLossWatch, wholeAnswerLoss, type StreamLossWatch } from './fidelity.js';
import type { ChatCompletion } from './types.js';

/*
 * Builds a cache entry from what the gateway reads of an answer. `caller` is the caller's API;
 * `format` (F) is the API the answer arrives in where the gateway reads it: the backend's for a
 * direct call, the caller's for a chained call (fallback attempts are translated before the
 * router-level reader sees them).
 *
 * - caller openai and F openai: the `openai` kind, the completion kept whole (isCacheableCompletion).
 * - otherwise: the `canonical` kind (isCacheableResponse). When caller and F are the same API a
 *   miss passes the answer untouched, so an answer holding more than the canonical form keeps
 *   (thinking blocks, a second candidate, Gemini's function-call thought signatures, …) is not
 *   stored: a hit must not answer differently from a miss (fidelity.ts). When they differ, a
 *   miss is itself translated through the canonical form, so nothing more is lost by caching.
 */

/** An entry, or why there is none (for logs and the cache-write metric). */
export type Collected = { entry: CacheEntry; problem?: undefined } | { entry?: undefined; problem: string };

const none = (problem: string): Collected => ({ problem });

/** The `openai` entry for a completion, if it may be stored. */
export function openaiEntry(completion: unknown): Collected {
  if (!isCacheableCompletion(completion))
    return none('the completion is not cacheable (unfinished, filtered, no usage, or holding what a replay cannot reproduce)');
  return { entry: { kind: 'openai', completion: completion as ChatCompletion } };
}

/** The `canonical` entry for a canonical answer, if it may be stored. Only its answer fields are kept. */
export function canonicalEntry(res: CanonicalResponse): Collected {
  if (!isCacheableResponse(res))
    return none(`the answer is not cacheable (finish "${res.finishReason}", ${res.usage ? 'usage known' : 'no usage'}, ${res.content.length} parts)`);
  const response = { id: res.id, model: res.model, content: res.content, finishReason: res.finishReason, usage: res.usage };
  return { entry: { kind: 'canonical', response } };
}

/** A whole (non-stream) answer: its JSON text in format F. */
export function collectWhole(caller: FormatId, format: FormatId, body: Buffer | string): Collected {
  let json: unknown;
  try {
    json = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch {
    return none('the answer is not JSON');
  }
  return collectWholeJson(caller, format, json);
}

/** collectWhole for an answer the caller already parsed. */
export function collectWholeJson(caller: FormatId, format: FormatId, json: unknown): Collected {
  if (caller === 'openai' && format === 'openai') return openaiEntry(json);
  let res: CanonicalResponse;
  try {
    res = FORMATS[format].parseResponse(json);
  } catch {
    return none(`the answer is not a ${format} response`);
  }
  if (caller === format) {
    const loss = wholeAnswerLoss(format as Exclude<FormatId, 'openai'>, json);
    if (loss) return none(`a replay would drop ${loss}`);
  }
  return canonicalEntry(res);
}

/**
 * Collects a streamed answer in format F chunk by chunk, as the bytes pass. It reads the bytes
 * itself (an SSE tap into ChatStreamAssembler for openai→openai, else F's own stream decoder into
 * a CanonicalAssembler, plus the same-API loss check), so it can sit beside whatever the pipeline
 * does with the stream. A pipeline that already decodes the stream can feed ChatStreamAssembler
 * or CanonicalAssembler (and streamLossWatch) directly instead, and build the entry with
 * openaiEntry / canonicalEntry.
 */
export class StreamCollector {
  private readonly tap: OpenAIStreamTap | undefined;
  private readonly chat: ChatStreamAssembler | undefined;
  private readonly decoder: StreamDecoder | undefined;
  private readonly assembler: CanonicalAssembler | undefined;
  private readonly watch: StreamLossWatch | undefined;
  private ended = false;

  constructor(caller: FormatId, format: FormatId) {
    if (caller === 'openai' && format === 'openai') {
      this.chat = new ChatStreamAssembler();
      // The gateway's own same-API reader; with hideUsageChunk false it never rewrites anything.
      this.tap = new OpenAIStreamTap(false, this.chat);
    } else {
      this.decoder = FORMATS[format].createStreamDecoder();
      this.assembler = new CanonicalAssembler();
      if (caller === format) this.watch = streamLossWatch(format as Exclude<FormatId, 'openai'>);
    }
  }

  push(chunk: Buffer): void {
    if (this.ended) return;
    if (this.tap) {
      this.tap.push(chunk, false);
      return;
    }
    this.assembler!.push(this.decoder!.push(chunk));
    this.watch?.push(chunk);
  }

  /** The stream ended (its last chunk already pushed): the entry, or why there is none. */
  end(): Collected {
    if (!this.ended) {
      this.ended = true;
      if (this.tap) {
        this.tap.push(Buffer.alloc(0), true);
      } else {
        this.assembler!.push(this.decoder!.end());
        this.assembler!.end();
        this.watch?.end();
      }
    }
    if (this.chat) {
      const c = this.chat.result();
      return c ? openaiEntry(c) : none(this.chat.problem ?? 'the stream is incomplete');
    }
    const res = this.assembler!.result();
    if (!res) return none(this.assembler!.problem ?? 'the stream is incomplete');
    if (this.watch?.loss) return none(`a replay would drop ${this.watch.loss}`);
    return canonicalEntry(res);
  }
}
