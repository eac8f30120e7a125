import type { ErrorKind, GatewayError } from '../../errors.js';
import type { ParsedProviderError } from '../canonical/format.js';

/*
 * Google APIs answer errors as `{"error":{"code":<HTTP status>,"message":...,"status":<google.rpc.Code
 * name>,"details":[...]}}`.
 *
 * The real Gemini API answers a missing or wrong API key with 400 INVALID_ARGUMENT ("API key not
 * valid"); the gateway answers a bad gateway key with 401 UNAUTHENTICATED instead, so callers and
 * their retry logic can tell "your key is wrong" from "your request is wrong".
 */

const STATUS: Record<ErrorKind, string> = {
  invalid_request: 'INVALID_ARGUMENT',
  authentication: 'UNAUTHENTICATED',
  permission: 'PERMISSION_DENIED',
  not_found: 'NOT_FOUND',
  request_timeout: 'DEADLINE_EXCEEDED',
  // google.rpc has no "too large" code; Google itself answers an oversized payload as INVALID_ARGUMENT.
  too_large: 'INVALID_ARGUMENT',
  rate_limit: 'RESOURCE_EXHAUSTED',
  internal: 'INTERNAL',
  // A backend that failed is, to the caller, a service not available right now (retryable).
  upstream: 'UNAVAILABLE',
  unavailable: 'UNAVAILABLE',
  timeout: 'DEADLINE_EXCEEDED',
};

export const googleStatusFor = (kind: ErrorKind): string => STATUS[kind];

export function renderGeminiError(err: GatewayError): string {
  const details: Array<Record<string, unknown>> = [];
  // The same detail messages Google attaches: the offending field, and how long to wait.
  if (err.opts.param) {
    details.push({ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: err.opts.param, description: err.message }] });
  }
  if (err.opts.retryAfterSeconds !== undefined) {
    details.push({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${err.opts.retryAfterSeconds}s` });
  }
  return JSON.stringify({
    error: { code: err.status, message: err.message, status: STATUS[err.kind], ...(details.length > 0 ? { details } : {}) },
  });
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads a Google error body. `type` is the ErrorInfo `reason` when there is one (it tells
 * API_KEY_INVALID apart from other INVALID_ARGUMENTs), else the `status` name. The streaming
 * endpoint without `alt=sse` wraps the error in a JSON array; that shape is read too.
 */
export function parseGeminiError(body: string): ParsedProviderError | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (Array.isArray(parsed)) parsed = parsed[0];
  if (!isRecord(parsed) || !isRecord(parsed.error)) return undefined;
  const e = parsed.error;
  const out: ParsedProviderError = {};
  if (typeof e.message === 'string') out.message = e.message;
  if (typeof e.code === 'number') out.status = e.code;
  const reason = Array.isArray(e.details)
    ? e.details.find((d): d is Record<string, unknown> => isRecord(d) && typeof d.reason === 'string')?.reason
    : undefined;
  if (typeof reason === 'string') out.type = reason;
  else if (typeof e.status === 'string') out.type = e.status;
  return out;
}
