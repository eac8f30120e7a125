/** The API endpoints the gateway serves, recognised from method and path. */
export type Endpoint =
  | { api: 'openai'; op: 'chat' }
  | { api: 'openai'; op: 'models' }
  | { api: 'openai'; op: 'model'; model: string };

export function detectEndpoint(method: string, path: string): Endpoint | undefined {
  if (method === 'POST' && path === '/v1/chat/completions') return { api: 'openai', op: 'chat' };
  if (method === 'GET' && path === '/v1/models') return { api: 'openai', op: 'models' };
  if (method === 'GET' && path.startsWith('/v1/models/')) {
    try {
      return { api: 'openai', op: 'model', model: decodeURIComponent(path.slice('/v1/models/'.length)) };
    } catch {
      return undefined; // a malformed %-escape names no model: unknown endpoint
    }
  }
  return undefined;
}

/** Splits `:path` into path and query without allocating a URL object. */
export function splitPath(rawPath: string): { path: string; query: URLSearchParams | undefined } {
  const q = rawPath.indexOf('?');
  if (q < 0) return { path: rawPath, query: undefined };
  return { path: rawPath.slice(0, q), query: new URLSearchParams(rawPath.slice(q + 1)) };
}
