import type { ErrorKind, GatewayError } from '../../errors.js';

/** OpenAI's `error.type` for each kind, as its API documents them. */
const TYPE: Record<ErrorKind, string> = {
  invalid_request: 'invalid_request_error',
  authentication: 'invalid_request_error',
  permission: 'permission_error',
  not_found: 'invalid_request_error',
  request_timeout: 'invalid_request_error',
  too_large: 'invalid_request_error',
  rate_limit: 'rate_limit_exceeded',
  internal: 'server_error',
  upstream: 'server_error',
  unavailable: 'server_error',
  timeout: 'server_error',
};

export function renderOpenAIError(err: GatewayError): string {
  return JSON.stringify({
    error: {
      message: err.message,
      type: TYPE[err.kind],
      param: err.opts.param ?? null,
      code: err.opts.code ?? null,
    },
  });
}

/** Reads `error.message` from an OpenAI-shaped error body, if it is one. */
export function parseOpenAIErrorMessage(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } };
    return typeof parsed?.error?.message === 'string' ? parsed.error.message : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads an error body from an OpenAI-format backend. Besides OpenAI's `{error: {message, type}}`
 * it accepts what compatible servers send: `{error: "text"}` and vLLM's top-level `{message, type}`.
 */
export function parseOpenAIError(body: string): { message?: string; type?: string } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const o = parsed as { error?: unknown; message?: unknown; type?: unknown };
  if (typeof o.error === 'string') return { message: o.error };
  const source = typeof o.error === 'object' && o.error !== null ? (o.error as { message?: unknown; type?: unknown; code?: unknown }) : o;
  const message = parseOpenAIErrorMessage(body) ?? (typeof source.message === 'string' ? source.message : undefined);
  const type = typeof source.type === 'string' ? source.type : undefined;
  if (message === undefined && type === undefined) return undefined;
  return { ...(message !== undefined ? { message } : {}), ...(type !== undefined ? { type } : {}) };
}
