import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { GatewayError } from '../errors.js';

/**
 * What the router-level processor tells the per-attempt one about a chained call. The two may
 * run on different replicas, so it travels with the request, as Envoy dynamic metadata that only
 * a processor can write. It is signed (HMAC-SHA256) with a key every replica shares: a per-attempt
 * stream is what receives provider credentials, so one opened by anything but Envoy, with a
 * context of its own making, must get nothing.
 */
export const RouteContext = z.object({
  /** Request id, for logs on both sides. */
  rid: z.string(),
  /** The caller's API. */
  caller: z.enum(['openai', 'anthropic', 'gemini', 'ollama']),
  /** The model as the caller named it (Gemini's comes from the URL, which attempts rewrite). */
  model: z.string(),
  stream: z.boolean(),
  /** Emit the usage chunk in a translated OpenAI stream (the router-level tap hides it again if unwanted). */
  includeUsage: z.boolean(),
  tenant: z.string(),
  /** The chain members this call may use (catalog ids): an attempt at any other is refused. */
  members: z.array(z.string()).min(1),
  /** Milliseconds since the epoch after which the context is no longer honoured. */
  exp: z.number(),
});
export type RouteContext = z.infer<typeof RouteContext>;

/** A chained call lasts at most its route timeout (600 s); its attempts happen within it. */
export const ROUTE_CONTEXT_TTL_MS = 15 * 60_000;

/** The signing key: ROUTE_CONTEXT_SECRET when set (the same on every replica), else one of this process's own. */
export function routeContextKey(secret: string | undefined): Buffer {
  return secret ? Buffer.from(secret, 'utf8') : randomBytes(32);
}

function mac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(payload).digest();
}

export function encodeRouteContext(c: RouteContext, key: Buffer): string {
  const payload = Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');
  return `${payload}.${mac(key, payload).toString('base64url')}`;
}

const refused = (why: string) => new GatewayError('permission', `A fallback attempt was refused: ${why}.`, { code: 'route_context_invalid' });

/** The context of an attempt, verified; a 403 for a missing, forged, tampered or expired one. */
export function decodeRouteContext(encoded: string | undefined, key: Buffer, nowMs = Date.now()): RouteContext {
  const [payload, sig, extra] = (encoded ?? '').split('.');
  if (!payload || !sig || extra !== undefined) throw refused('it carries no signed routing context');
  const expected = mac(key, payload);
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw refused('its routing context is not signed by this gateway');
  let c: RouteContext;
  try {
    c = RouteContext.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
  } catch {
    throw refused('its routing context is malformed');
  }
  if (c.exp < nowMs) throw refused('its routing context has expired');
  return c;
}
