import type { Usage } from '../metering/usage.js';

/**
 * What the gateway does with a provider's answer on its way to the caller: it always reads the
 * usage, and it rewrites the bytes when the caller must see something else (another API's shape,
 * a hidden usage chunk). Implemented by the OpenAI pass-through tap and by the translator.
 */
export interface AnswerReader {
  /** Usage reported so far (a stream's grows until its end). */
  readonly usage: Usage | undefined;
  /** `content-type` of the caller's answer when it is rewritten; undefined when bytes pass unchanged. */
  contentType(): string | undefined;
  /** One chunk of a stream; returns the caller's bytes, or undefined to pass the chunk unchanged. */
  chunk(body: Buffer, endOfStream: boolean): Buffer | undefined;
  /** A whole (non-stream) answer; returns the caller's bytes, or undefined to pass it unchanged. */
  whole(body: Buffer): Buffer | undefined;
  /**
   * Output tokens passed on to the caller so far, estimated from what was read: what a stream cut
   * off before the provider's usage report is metered by.
   */
  deliveredTokens(): number;
  /**
   * The caller's stream ended with an error rather than the answer (the provider's stream was cut
   * or corrupt, or reported an error): what was collected of it is not an answer to keep.
   */
  readonly failed: boolean;
}

/** Tokens in a piece of generated text, estimated (about four characters each) without a tokenizer. */
export function estimateTokens(chars: number): number {
  return Math.ceil(chars / 4);
}
