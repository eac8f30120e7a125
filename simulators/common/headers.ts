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

/**
 * The `x-sim-reject-key` test hook (opt-in, any value but `0`/`false`): the simulator refuses the
 * credential it was sent, as the provider does a wrong or revoked key, with its own error answer
 * (OpenAI's quotes the key's masked tail), whatever key the simulator was started with.
 */
export function rejectsCredential(req: http.IncomingMessage): boolean {
  const v = headerValue(req, 'x-sim-reject-key')?.trim().toLowerCase();
  return v !== undefined && v !== '' && v !== '0' && v !== 'false';
}
