/* Small helpers the families share to write requests. */
import { API_SPECS, BACKEND_MODEL, type JsonObject } from './apis.js';
import type { Api, Framing, HostileRequest } from './types.js';

export interface ChatOptions {
  model?: string;
  stream?: boolean;
  /** Replaces the API's headers (key and content type) entirely. */
  headers?: Array<[string, string]>;
  /** Added after the API's headers. */
  extraHeaders?: Array<[string, string]>;
  path?: string;
  method?: string;
  framing?: Framing;
}

/** A chat request of `api` carrying `body` (an object, or raw text or bytes). */
export function chat(api: Api, body: JsonObject | string | Buffer, o: ChatOptions = {}): HostileRequest {
  const spec = API_SPECS[api];
  const model = o.model ?? BACKEND_MODEL[api];
  return {
    method: o.method ?? 'POST',
    path: o.path ?? spec.chatPath(model, o.stream ?? false),
    headers: [...(o.headers ?? spec.headers()), ...(o.extraHeaders ?? [])],
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    ...(o.framing ? { framing: o.framing } : {}),
  };
}

/** The API's valid non-stream body for its own backend model. */
export function validBody(api: Api, model = BACKEND_MODEL[api]): JsonObject {
  return API_SPECS[api].body(model, false);
}

/** A GET of `path` with the API's key (and no body). */
export function get(api: Api, path: string, extraHeaders: Array<[string, string]> = []): HostileRequest {
  const headers = API_SPECS[api].headers().filter(([k]) => k !== 'content-type');
  return { method: 'GET', path, headers: [...headers, ...extraHeaders] };
}

/** Names readable in a test report: no control characters, bounded length. */
export function slug(s: string, max = 48): string {
  let clean = '';
  for (const ch of s) {
    const code = ch.charCodeAt(0);
    clean += code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : ch;
  }
  return clean.length > max ? `${clean.slice(0, max - 12)}…(${s.length} chars)` : clean;
}

/** n nested arrays or objects around a value: `[[[1]]]` or `{"a":{"a":1}}`. */
export function nested(depth: number, kind: 'array' | 'object', closed = true): string {
  const open = kind === 'array' ? '[' : '{"a":';
  const close = kind === 'array' ? ']' : '}';
  return open.repeat(depth) + (closed ? `1${close.repeat(depth)}` : '');
}
