import type { GatewayError } from '../../errors.js';
import type { StreamEventCheck, StreamFraming } from './stream-check.js';
import type { CanonicalRequest, CanonicalResponse, EncoderContext, FormatId, StreamDecoder, StreamEncoder } from './types.js';

/** What the caller's request looked like apart from its body (Gemini puts model and streaming in the URL). */
export interface InboundContext {
  /** Model named in the URL path, when the format puts it there. */
  pathModel?: string;
  /** Streaming chosen by the URL (Gemini `:streamGenerateContent`). */
  stream?: boolean;
}

/** How to address a backend of this format. */
export interface UpstreamCallInput {
  /** Provider base path from the catalog, '' or '/seg/seg'. */
  basePath: string;
  /** The model name the backend knows. */
  upstreamModel: string;
  stream: boolean;
  /** The provider credential; undefined for backends without auth (local Ollama). */
  credential: string | undefined;
}

export interface UpstreamCall {
  /** `:path`, query string included. */
  path: string;
  /** Headers to set on the upstream request (auth, version). */
  headers: Array<[string, string]>;
}

export interface RenderContext {
  /** Response id to present to the caller. */
  id: string;
  /** Model name to present to the caller. */
  model: string;
  /** Unix seconds. */
  created: number;
}

/** A provider's error body, read enough to log it and map it. */
export interface ParsedProviderError {
  message?: string;
  /** The provider's own error type/code string, if any (e.g. `overloaded_error`). */
  type?: string;
  /** The HTTP status the body itself states, if its API puts one there (Google's `error.code`). */
  status?: number;
}

/**
 * One wire format, both directions. Caller side: parseRequest, renderResponse, createStreamEncoder,
 * renderError. Backend side: buildRequest, upstreamCall, parseResponse, createStreamDecoder, parseError.
 */
export interface WireFormat {
  id: FormatId;
  /** Validates the caller's parsed JSON body; throws a 400 GatewayError whose `param` names the bad field. */
  parseRequest(body: unknown, inbound: InboundContext): CanonicalRequest;
  /**
   * The backend's JSON body for a canonical request. Throws a 400 GatewayError naming the field
   * when the request needs something this format cannot express.
   */
  buildRequest(req: CanonicalRequest, upstreamModel: string): Record<string, unknown>;
  upstreamCall(input: UpstreamCallInput): UpstreamCall;
  /** The backend's non-stream JSON answer; throws when it is not one. */
  parseResponse(body: unknown): CanonicalResponse;
  /** The caller's non-stream JSON answer. */
  renderResponse(res: CanonicalResponse, ctx: RenderContext): Record<string, unknown>;
  createStreamDecoder(): StreamDecoder;
  createStreamEncoder(ctx: EncoderContext): StreamEncoder;
  /** `content-type` of this format's stream. */
  streamContentType: string;
  /** How this format's stream is cut into events. */
  streamFraming: StreamFraming;
  /**
   * One complete event of this format's stream (without its terminator), checked cheaply: what a
   * stream passing unchanged between ends of this API is validated with.
   */
  checkStreamEvent(event: string): StreamEventCheck;
  /** The caller-facing error body for a gateway error (JSON text). */
  renderError(err: GatewayError): string;
  parseError(body: string): ParsedProviderError | undefined;
}
