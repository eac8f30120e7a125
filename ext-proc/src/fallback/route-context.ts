import { z } from 'zod';
import { GatewayError } from '../errors.js';

/**
 * What the router-level processor tells the upstream-level one about a chained call. The two may
 * run on different replicas, so it travels with the request, as Envoy dynamic metadata that only
 * a processor can write (callers cannot set it).
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
});
export type RouteContext = z.infer<typeof RouteContext>;

export function encodeRouteContext(c: RouteContext): string {
  return Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');
}

export function decodeRouteContext(encoded: string | undefined): RouteContext {
  try {
    return RouteContext.parse(JSON.parse(Buffer.from(encoded ?? '', 'base64url').toString('utf8')));
  } catch {
    throw new GatewayError('internal', 'A fallback attempt arrived without its routing context.', { code: 'route_context_missing' });
  }
}
