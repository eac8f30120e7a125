import type { AnswerPolicy } from '../answer/policy.js';
import type { ExtProcRequest, HeaderPair, HeaderRecord, StructObject } from './codec/messages.js';

/** An answer the gateway gives itself (Envoy's local reply): errors, model lists, cache hits. */
export interface LocalReply {
  status: number;
  headers: HeaderPair[];
  body: Buffer;
  /** Envoy's %RESPONSE_CODE_DETAILS% for the access log. */
  details: string;
  metadata?: Record<string, StructObject>;
}

/** The request goes upstream, changed this way; `answer` handles what comes back. */
export interface Forward {
  set: HeaderPair[];
  remove: string[];
  /** The new body; undefined: the caller's bytes go on unchanged. */
  body: Buffer | undefined;
  /** The route depends on headers set here (the router-level processor picks the cluster). */
  clearRouteCache: boolean;
  metadata?: Record<string, StructObject>;
  answer: AnswerPolicy;
}

export type HeadResult<Ctx> = { reply: LocalReply } | { ctx: Ctx; strip: string[] };
export type BodyResult = { reply: LocalReply } | { forward: Forward };

/**
 * What one kind of exchange does with a call (the router-level processor, a fallback attempt):
 * the coordinator in exchange.ts only sequences these against Envoy's messages.
 */
export interface CallHandler<Ctx> {
  /** What the request headers alone decide (API, endpoint, identity). Never rejects. */
  head(headers: HeaderRecord, first: ExtProcRequest): Promise<HeadResult<Ctx>>;
  /** The rest, with the whole body. Never rejects. */
  body(ctx: Ctx, body: Buffer): Promise<BodyResult>;
  /**
   * The reply for a failure outside the stages (a body over the limit, a malformed message from
   * the proxy), in the caller's API when `ctx` says which.
   */
  failure(err: unknown, ctx?: Ctx): LocalReply;
}
