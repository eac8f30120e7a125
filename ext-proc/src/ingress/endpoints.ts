import type { FormatId } from '../providers/canonical/types.js';

/** The API endpoints the gateway serves, recognised from method and path (and, for twin paths, headers). */
export type Endpoint =
  | { api: FormatId; op: 'chat'; model?: string; stream?: boolean }
  | { api: FormatId; op: 'models' }
  | { api: 'openai'; op: 'model'; model: string };

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
  if (GEMINI_MODELS.test(path)) return { api: 'gemini', op: 'models' };
  if (path.startsWith('/v1/models/')) {
    const model = decode(path.slice('/v1/models/'.length));
    return model === undefined ? undefined : { api: 'openai', op: 'model', model };
  }
  return undefined;
}

/** Splits `:path` into path and query without allocating a URL object. */
export function splitPath(rawPath: string): { path: string; query: URLSearchParams | undefined } {
  const q = rawPath.indexOf('?');
  if (q < 0) return { path: rawPath, query: undefined };
  return { path: rawPath.slice(0, q), query: new URLSearchParams(rawPath.slice(q + 1)) };
}

/**
 * Which API a path belongs to when it is not one the gateway serves (a typo, a trailing slash, an
 * endpoint of the API the gateway does not offer), so the 404 reaches the caller in its own
 * API's error shape. Envoy's replies for paths the processor never sees use the same patterns
 * (envoy/bootstrap.ts), so both sides answer alike. Case-insensitive and tolerant of repeated
 * slashes: `/V1//messages/` is still an Anthropic caller's mistake. OpenAI is the rest.
 */
export const API_FAMILY_PATTERNS: ReadonlyArray<{ api: Exclude<FormatId, 'openai'>; pattern: string }> = [
  // RE2 syntax, matched against the whole path (Envoy's string matchers match it whole).
  { api: 'anthropic', pattern: '(?i)/+v1/+messages(?:[/?].*)?' },
  { api: 'gemini', pattern: '(?i)/+v1beta(?:[/?].*)?|/+v1/+models/+[^?]*:[a-z]+.*' },
  { api: 'ollama', pattern: '(?i)/+api(?:[/?].*)?' },
];

const FAMILY_RES = API_FAMILY_PATTERNS.map((f) => ({ api: f.api, re: new RegExp(`^(?:${f.pattern.replace('(?i)', '')})$`, 'i') }));

export function apiFamilyOfPath(path: string): FormatId {
  for (const f of FAMILY_RES) if (f.re.test(path)) return f.api;
  return 'openai';
}
