import type { FormatId } from '../providers/canonical/types.js';

/** The API endpoints the gateway serves, recognised from method and path (and, for twin paths, headers). */
export type Endpoint =
  | { api: FormatId; op: 'chat'; model?: string; stream?: boolean }
  | { api: FormatId; op: 'models' }
  | { api: 'openai'; op: 'model'; model: string }
  /** The caller's own usage from the ledger (OpenAI-style JSON and errors). */
  | { api: 'openai'; op: 'usage' };

// Gemini's REST API has a stable (v1) and a beta surface with the same methods.
const GEMINI_METHOD = /^\/(?:v1beta|v1)\/models\/([^/:]+(?:\/[^/:]+)*):(generateContent|streamGenerateContent)$/;
const GEMINI_MODELS = /^\/(?:v1beta|v1)\/models$/;

function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined; // a malformed %-escape names no model: unknown endpoint
  }
}

/**
 * `anthropicHeaders`: the request carries `anthropic-version`, which Anthropic's SDKs always send;
 * it tells Anthropic's `GET /v1/models` from OpenAI's at the same path.
 */
export function detectEndpoint(method: string, path: string, anthropicHeaders = false): Endpoint | undefined {
  if (method === 'POST') {
    if (path === '/v1/chat/completions') return { api: 'openai', op: 'chat' };
    if (path === '/v1/messages') return { api: 'anthropic', op: 'chat' };
    if (path === '/api/chat') return { api: 'ollama', op: 'chat' };
    const g = GEMINI_METHOD.exec(path);
    if (g) {
      const model = decode(g[1]!);
      return model === undefined ? undefined : { api: 'gemini', op: 'chat', model, stream: g[2] === 'streamGenerateContent' };
    }
    return undefined;
  }
  if (method !== 'GET') return undefined;
  if (path === '/v1/models') return { api: anthropicHeaders ? 'anthropic' : 'openai', op: 'models' };
  if (path === '/api/tags') return { api: 'ollama', op: 'models' };
  if (path === '/v1/usage') return { api: 'openai', op: 'usage' };
  if (GEMINI_MODELS.test(path)) return { api: 'gemini', op: 'models' };
  if (path.startsWith('/v1/models/')) {
    const model = decode(path.slice('/v1/models/'.length));
    // `/v1/models/` names no model: an unknown endpoint (a model list with a trailing slash).
    return model === undefined || model === '' ? undefined : { api: 'openai', op: 'model', model };
  }
  return undefined;
}

/** Splits `:path` into path and query without allocating a URL object. */
export function splitPath(rawPath: string): { path: string; query: URLSearchParams | undefined } {
  const q = rawPath.indexOf('?');
  if (q < 0) return { path: rawPath, query: undefined };
  return { path: rawPath.slice(0, q), query: new URLSearchParams(rawPath.slice(q + 1)) };
}

/*
 * Which API a request belongs to when it is not one the gateway serves (a typo, a trailing slash,
 * an endpoint of the API the gateway does not offer), so the error reaches the caller in its own
 * API's shape. Envoy's replies for paths the processor never sees use the same definitions
 * (envoy/bootstrap.ts), so both sides answer alike:
 *   1. the path, when it says: Anthropic's, Gemini's, Ollama's or OpenAI's own prefixes, matched
 *      case-insensitively, tolerant of repeated slashes and of `%2F`/`%3A` written for `/` and `:`
 *      (`/V1//messages/`, `/api%2Fchat` are still an Anthropic and an Ollama caller's mistakes);
 *   2. else the request's headers, as each API's SDK sends them: `anthropic-version` or
 *      `x-api-key` is Anthropic's, `x-goog-api-key` or a `key` query parameter Gemini's;
 *   3. else OpenAI.
 */

// RE2 syntax (Envoy's), matched case-insensitively against the whole path; each stays under
// RE2's default program size limit (100), which Envoy enforces. A slash or a colon may come %-escaped.
const SL = '(?:/|%2f)';
const COLON = '(?::|%3a)';
// What may follow a prefix: nothing, or a path, a query or a matrix parameter.
const REST = `(?:(?:${SL}|[?;]).*)?`;
const OPENAI_PREFIX = `(?i)(?:${SL}+v1)?${SL}+`;

/** Paths that say which API they belong to, tried in this order (an API may have several). */
export const API_FAMILY_PATTERNS: ReadonlyArray<{ api: FormatId; pattern: string }> = [
  { api: 'anthropic', pattern: `(?i)${SL}+v1${SL}+messages${REST}` },
  { api: 'gemini', pattern: `(?i)${SL}+v1beta${REST}|${SL}+v1${SL}+models${SL}+[^?]*${COLON}[a-z]+.*` },
  { api: 'ollama', pattern: `(?i)${SL}+api${REST}` },
  // OpenAI's own endpoints (model lists are shared with Anthropic: the headers tell those).
  { api: 'openai', pattern: `${OPENAI_PREFIX}(?:chat|completions|embeddings|responses|audio|images|moderations)${REST}` },
  { api: 'openai', pattern: `${OPENAI_PREFIX}(?:batches|fine_tuning|assistants|threads|vector_stores|uploads|realtime)${REST}` },
];

/** Request headers (and a query parameter) by which an API's SDK names its API, for a path that does not. */
export const API_HEADER_CUES: ReadonlyArray<{ api: FormatId; headers: readonly string[]; queryParam?: string }> = [
  { api: 'anthropic', headers: ['anthropic-version', 'x-api-key'] },
  { api: 'gemini', headers: ['x-goog-api-key'], queryParam: 'key' },
];

const FAMILY_RES = API_FAMILY_PATTERNS.map((f) => ({ api: f.api, re: new RegExp(`^(?:${f.pattern.replace('(?i)', '')})$`, 'i') }));

/** The path with its %-escapes decoded (a malformed escape leaves it as it is). */
function decodedPath(path: string): string {
  if (!path.includes('%')) return path;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** The API the path names, if it names one (%-escapes decoded first). */
export function apiFamilyOfPath(path: string): FormatId | undefined {
  const decoded = decodedPath(path);
  for (const f of FAMILY_RES) if (f.re.test(decoded) || f.re.test(path)) return f.api;
  return undefined;
}

/** The API a request belongs to: its path's, else its headers' (and query's), else OpenAI. */
export function apiFamilyOfRequest(path: string, headers: Readonly<Record<string, string>>, query: URLSearchParams | undefined): FormatId {
  const byPath = apiFamilyOfPath(path);
  if (byPath) return byPath;
  for (const cue of API_HEADER_CUES) {
    if (cue.headers.some((h) => headers[h] !== undefined) || (cue.queryParam !== undefined && query?.has(cue.queryParam))) return cue.api;
  }
  return 'openai';
}
