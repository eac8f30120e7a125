import type { ErrorKind, GatewayError } from '../../errors.js';
import type { ParsedProviderError } from '../canonical/format.js';

/** Anthropic's `error.type` for each kind, from its documented status/type table. */
const TYPE: Record<ErrorKind, string> = {
  invalid_request: 'invalid_request_error',
  authentication: 'authentication_error',
  permission: 'permission_error',
  not_found: 'not_found_error',
  request_timeout: 'invalid_request_error',
  too_large: 'request_too_large',
  rate_limit: 'rate_limit_error',
  internal: 'api_error',
  upstream: 'api_error',
  // Anthropic signals a temporarily unavailable service as overloaded (its 529); SDKs retry it.
  unavailable: 'overloaded_error',
  timeout: 'api_error',
};

/** The HTTP status Anthropic pairs with each documented error type. */
const STATUS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

export function anthropicErrorType(kind: ErrorKind): string {
  return TYPE[kind];
}

/** Status for an error type seen in a stream's `error` event (no HTTP status there); unknown types count as 500. */
export function statusForAnthropicErrorType(type: string | undefined): number {
  return type !== undefined && Object.hasOwn(STATUS, type) ? STATUS[type]! : 500;
}

export function anthropicErrorBody(type: string, message: string): { type: 'error'; error: { type: string; message: string } } {
  return { type: 'error', error: { type, message } };
}

export function renderAnthropicError(err: GatewayError): string {
  return JSON.stringify(anthropicErrorBody(TYPE[err.kind], err.message));
}

/** Reads `{"type":"error","error":{"type","message"}}`; tolerates a missing top-level `type`. */
export function parseAnthropicError(body: string): ParsedProviderError | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object') return undefined;
  const error = (parsed as { error?: unknown }).error;
  if (!error || typeof error !== 'object') return undefined;
  const { type, message } = error as { type?: unknown; message?: unknown };
  const out: ParsedProviderError = {};
  if (typeof message === 'string') out.message = message;
  if (typeof type === 'string') out.type = type;
  return out.message === undefined && out.type === undefined ? undefined : out;
}
