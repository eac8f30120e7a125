/**
 * Failure injection: the `x-sim-fail` request header and the `failEvery` option.
 *
 *   x-sim-fail: <status>    the provider's error answer with that status (200..599)
 *   x-sim-fail: hang        never answer; the request stays open until the client leaves
 *   x-sim-fail: reset       destroy the connection without answering
 *   x-sim-fail: midstream   start a normal 200 answer, send about half, destroy the connection
 *
 * A simulator may accept kinds of its own (Ollama's `stream-error`); it names the kinds it
 * accepts, and any other value of the header is ignored, as an unknown one always was.
 */
import type http from 'node:http';
import { headerValue } from './headers.js';

export const BASE_FAILURE_KINDS = ['hang', 'reset', 'midstream'] as const;
export type BaseFailureKind = (typeof BASE_FAILURE_KINDS)[number];

export type FailDirective<K extends string = BaseFailureKind> = { kind: 'status'; status: number } | { kind: K };

export function parseFailHeader<K extends string>(value: string | undefined, kinds: readonly K[]): FailDirective<K> | undefined {
  if (value === undefined) return undefined;
  const s = value.trim().toLowerCase();
  if ((kinds as readonly string[]).includes(s)) return { kind: s as K };
  if (/^\d{3}$/.test(s)) {
    const status = Number(s);
    if (status >= 200 && status <= 599) return { kind: 'status', status };
  }
  return undefined;
}

export interface FailEvery {
  /** Every Nth counted request fails; 0 = never. */
  every: number;
  /** Status of those failures. */
  status: number;
}

/** `failEvery` and `failStatus` as given to a simulator, with their defaults (never, 500). */
export function failEvery(opts: { failEvery?: number; failStatus?: number }): FailEvery {
  return { every: Math.max(0, Math.floor(opts.failEvery ?? 0)), status: opts.failStatus ?? 500 };
}

/**
 * What to inject into a request: its `x-sim-fail` header, else a `failEvery` failure when `n`
 * (the request's number among those the simulator counts) is due. `n` is undefined for a
 * request the simulator does not count.
 */
export function pickFailure<K extends string>(
  req: http.IncomingMessage,
  kinds: readonly K[],
  schedule: FailEvery,
  n: number | undefined,
): FailDirective<K> | undefined {
  const directive = parseFailHeader(headerValue(req, 'x-sim-fail'), kinds);
  if (directive !== undefined) return directive;
  if (n !== undefined && schedule.every > 0 && n % schedule.every === 0) return { kind: 'status', status: schedule.status };
  return undefined;
}

export interface InjectedAnswer {
  /** Waits out the request's latency; false if the client went away meanwhile. */
  delay(): Promise<boolean>;
  /** Sends the provider's own error answer for an injected status. */
  status(status: number): Promise<void>;
}

/**
 * Carries out a directive that takes the place of the answer (hang, reset, status) and returns
 * true. Returns false when there is nothing to inject or the directive changes how the answer
 * is delivered (midstream and the simulator's own kinds): the caller answers and acts on it.
 */
export async function injectFailure<K extends string>(
  directive: FailDirective<K> | undefined,
  res: http.ServerResponse,
  answer: InjectedAnswer,
): Promise<boolean> {
  if (directive === undefined) return false;
  // Hang: the request is never answered and stays open until the client (or close()) ends it.
  if (directive.kind === 'hang') return true;
  if (directive.kind === 'reset') {
    if (await answer.delay()) res.destroy();
    return true;
  }
  if ('status' in directive) {
    await answer.status(directive.status);
    return true;
  }
  return false;
}

/** Headers of an injected failure for the providers that send `retry-after` with a 429. */
export function retryAfterHeaders(status: number): Record<string, string> | undefined {
  return status === 429 ? { 'retry-after': '1' } : undefined;
}
