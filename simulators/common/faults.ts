/**
 * `x-sim-only: <kind>[,<kind>...]` scopes the other test hooks (`x-sim-fail`, `x-sim-wire`,
 * `x-sim-latency-ms`, `x-sim-reject-key`) to the simulators of those kinds (`openai`,
 * `anthropic`, `gemini`, `ollama`, `vllm`); any other simulator answers as if the hooks were not
 * there. A request that
 * a gateway sends down a fallback chain reaches several simulators with the same headers: this
 * makes one member fail while the others answer.
 */
import type http from 'node:http';
import { headerValue } from './headers.js';

export const SCOPED_HOOKS = ['x-sim-fail', 'x-sim-wire', 'x-sim-latency-ms', 'x-sim-reject-key'] as const;

/** Whether the request's hooks apply to a simulator of this kind (always, without `x-sim-only`). */
export function hooksApply(req: http.IncomingMessage, kind: string | undefined): boolean {
  const only = headerValue(req, 'x-sim-only');
  if (only === undefined) return true;
  const kinds = only
    .split(',')
    .map((k) => k.trim().toLowerCase())
    .filter(Boolean);
  return kind !== undefined && kinds.includes(kind);
}

/** Removes the test hooks of a request they do not apply to. */
export function dropHooksNotFor(req: http.IncomingMessage, kind: string | undefined): void {
  if (hooksApply(req, kind)) return;
  for (const h of SCOPED_HOOKS) delete req.headers[h];
}
