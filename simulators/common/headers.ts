/** Reading request headers. */
import type http from 'node:http';

/** The header's value; the first one when it was sent more than once. */
export function headerValue(req: http.IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The token of `Authorization: Bearer <token>`; '' when there is none. */
export function bearerToken(req: http.IncomingMessage): string {
  const m = /^Bearer\s+(.*)$/i.exec(headerValue(req, 'authorization')?.trim() ?? '');
  return m?.[1]?.trim() ?? '';
}

/** The path of a request target, without its query string. */
export function targetPath(target: string): string {
  const q = target.indexOf('?');
  return q >= 0 ? target.slice(0, q) : target;
}
