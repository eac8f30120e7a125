/*
 * The hostile-input corpus as data: every case is a request sent as raw bytes to the gateway
 * and what its answer must be. No code runs per case apart from the generic sender and checker.
 */

/** The inbound API a case speaks: its errors must come back in this API's shape. */
export type Api = 'openai' | 'anthropic' | 'gemini' | 'ollama';
export const APIS: readonly Api[] = ['openai', 'anthropic', 'gemini', 'ollama'];

export type Family =
  | 'json' // malformed and truncated JSON, bytes that are not UTF-8, lone surrogates
  | 'types' // a wrong JSON type for each field of the API's request
  | 'numbers' // null, NaN, huge, tiny, negative numbers; stray `n`
  | 'arrays' // empty and 10k-element arrays, deep nesting
  | 'semantics' // duplicate keys, unknown fields, prototype keys, giant tool schemas, bad images
  | 'model' // model names with path tricks
  | 'query' // query-string tricks
  | 'paths' // unknown paths, trailing slash, //, upper case, %2F, wrong methods
  | 'headers' // content-type, keys, encodings, gateway-internal headers, chunked bodies
  | 'size' // bodies over the configured maximum
  | 'transport' // raw HTTP: content-length larger than the body, broken framing
  | 'provider'; // the provider answers garbage (simulator faults)

export const FAMILIES: readonly Family[] = [
  'json',
  'types',
  'numbers',
  'arrays',
  'semantics',
  'model',
  'query',
  'paths',
  'headers',
  'size',
  'transport',
  'provider',
];

/** How the request body is framed on the wire. */
export type Framing =
  | { kind: 'length' } // content-length: the body's length (the default)
  | { kind: 'chunked'; chunkBytes?: number } // transfer-encoding: chunked, in pieces of chunkBytes (default all in one)
  | { kind: 'none' }; // neither header (a GET)

export interface HostileRequest {
  method: string;
  /** The request target exactly as sent (path and query), unescaped by nobody. */
  path: string;
  /**
   * Headers in order, duplicates allowed. The sender adds `host` and `connection: close` and the
   * framing header; nothing else.
   */
  headers: Array<[string, string]>;
  body?: string | Buffer;
  framing?: Framing;
  /**
   * The whole request as bytes, sent verbatim instead of the above (transport cases). `{{host}}`
   * is replaced by the gateway's address.
   */
  raw?: Buffer;
}

/**
 * What the answer must be. Every kind also requires: no hang (the case's timeout), no stack
 * trace, file path or key in the body, and every error in the case's API shape with JSON
 * content type and the gateway's request id.
 */
export type Expect =
  /** The caller's mistake: a 4xx error in its API's shape (one of `status` when given). */
  | { kind: 'reject'; status?: number[] }
  /** A complete, valid answer in the caller's API (`what` says which). */
  | { kind: 'ok' }
  /** Odd but legal input: a complete valid answer, or a 4xx error in the caller's shape. */
  | { kind: 'tolerate' }
  /**
   * The provider failed: an error in the caller's shape with one of `status`; or a 200 stream
   * that ends with a well-formed error event in the caller's API. `cutOff`: an answer whose
   * connection the provider reset mid-body may also be cut off for the caller once its head has
   * gone (README: a provider reset makes Envoy reset the caller's connection as well).
   */
  | { kind: 'upstream'; status: number[]; cutOff?: boolean }
  /** A provider answer that is odd but readable: a complete valid answer, or as `upstream`. */
  | { kind: 'ok-or-upstream'; status: number[]; cutOff?: boolean };

export interface HostileCase {
  /** Unique; KNOWN_FAILURES keys on it. */
  name: string;
  api: Api;
  family: Family;
  /** Which answer a success is: a chat answer or a model list. */
  answer: 'chat' | 'models';
  request: HostileRequest;
  expect: Expect;
  /** Longer than this is a hang (default DEFAULT_TIMEOUT_MS). */
  timeoutMs?: number;
  /**
   * Sent one at a time in corpus order, after the concurrent cases: for cases whose outcome
   * depends on state they share (a fallback chain's cooldowns and Envoy's outlier detection).
   */
  sequential?: boolean;
  /**
   * Sent alone, after every other case and the liveness check, and followed by a check that
   * Envoy still runs: for a case that may take the gateway down.
   */
  isolated?: boolean;
}

export const DEFAULT_TIMEOUT_MS = 8000;
