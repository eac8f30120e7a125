import type { HeaderPair, HeaderRecord, StructObject } from '../server/codec/messages.js';

/** What to do with the response headers. */
export interface HeadersDecision {
  set: HeaderPair[];
  remove: string[];
  /**
   * The body is needed whole before the caller may see anything (errors are mapped, a non-stream
   * answer gets its cost header); otherwise it streams through chunk by chunk.
   */
  whole: boolean;
}

/** What to do with a whole body: more headers (status, cost, length) and, if it changes, the new body. */
export interface WholeDecision {
  set: HeaderPair[];
  body: Buffer | undefined;
}

/**
 * The answer side of a call, independent of how Envoy delivers it (full-duplex or classic
 * streaming): it decides headers, rewrites chunks or whole bodies, and keeps the books. Called in
 * order: `headers`, then either `chunk` for each piece of a streamed body or `whole` once; `abort`
 * whenever the exchange ends before the answer did.
 */
export interface AnswerPolicy {
  headers(status: number, headers: HeaderRecord, endOfStream: boolean): HeadersDecision;
  /** One chunk of a streamed body; the caller's bytes, or undefined to pass it unchanged. */
  chunk(body: Buffer, endOfStream: boolean): Buffer | undefined;
  whole(body: Buffer): WholeDecision;
  /** Dynamic metadata to send with the last message of the answer (the access log's record). */
  metadata(): Record<string, StructObject> | undefined;
  abort(): void;
}
