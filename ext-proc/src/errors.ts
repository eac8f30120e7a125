/**
 * A failure the gateway answers itself. It is format-neutral: each API's folder renders it
 * in that API's own error shape (`providers/<format>/errors.ts`).
 */
export type ErrorKind =
  | 'invalid_request' // 400
  | 'authentication' // 401
  | 'permission' // 403
  | 'not_found' // 404
  | 'request_timeout' // 408: the caller did not send its whole request in time
  | 'too_large' // 413
  | 'rate_limit' // 429
  | 'internal' // 500
  | 'upstream' // 502
  | 'unavailable' // 503
  | 'timeout'; // 504

const STATUS: Record<ErrorKind, number> = {
  invalid_request: 400,
  authentication: 401,
  permission: 403,
  not_found: 404,
  request_timeout: 408,
  too_large: 413,
  rate_limit: 429,
  internal: 500,
  upstream: 502,
  unavailable: 503,
  timeout: 504,
};

export class GatewayError extends Error {
  readonly status: number;
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly opts: { param?: string | null; code?: string | null; retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.status = STATUS[kind];
  }
}

export function kindForStatus(status: number): ErrorKind {
  if (status === 400 || status === 422) return 'invalid_request';
  if (status === 401) return 'authentication';
  if (status === 403) return 'permission';
  if (status === 404) return 'not_found';
  if (status === 413) return 'too_large';
  if (status === 429) return 'rate_limit';
  if (status === 502) return 'upstream';
  if (status === 503 || status === 529) return 'unavailable';
  if (status === 408) return 'request_timeout';
  if (status === 504) return 'timeout';
  return status >= 500 ? 'internal' : 'invalid_request';
}
