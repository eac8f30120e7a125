/** The `x-sim-latency-ms` test hook: a per-request override of the simulator's latency. */
import type http from 'node:http';
import { headerValue } from './headers.js';

/** Longest latency a request may ask for, so a typo cannot park a request for days. */
export const MAX_LATENCY_MS = 10 * 60_000;

/** The latency for this request: its `x-sim-latency-ms` header if valid, else `defaultMs`. */
export function requestLatency(req: http.IncomingMessage, defaultMs: number): number {
  const raw = headerValue(req, 'x-sim-latency-ms');
  if (raw === undefined) return defaultMs;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? Math.min(n, MAX_LATENCY_MS) : defaultMs;
}
