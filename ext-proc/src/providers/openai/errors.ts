import type { ErrorKind, GatewayError } from '../../errors.js';

/** OpenAI's `error.type` for each kind, as its API documents them. */
const TYPE: Record<ErrorKind, string> = {
  invalid_request: 'invalid_request_error',
  authentication: 'invalid_request_error',
  permission: 'permission_error',
  not_found: 'invalid_request_error',
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
