/** Where callers put their key, in every API; it never goes upstream. */
export const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'x-goog-api-key'];

/**
 * Envoy control headers a caller could send to change retries or timeouts; the processor sets
 * x-envoy-max-retries itself on chained calls, and nothing else may.
 */
export const CALLER_ENVOY_HEADERS = [
  'x-envoy-retry-on',
  'x-envoy-retry-grpc-on',
  'x-envoy-max-retries',
  'x-envoy-retriable-status-codes',
  'x-envoy-retriable-header-names',
  'x-envoy-upstream-rq-timeout-ms',
  'x-envoy-upstream-rq-per-try-timeout-ms',
  'x-envoy-hedge-on-per-try-timeout',
  // Envoy's record of a rewritten path: a caller's own would forge the access log and reach providers.
  'x-envoy-original-path',
];

/** Version and client headers some API's backend call sets itself. */
const API_VERSION_HEADERS = ['anthropic-version', 'anthropic-beta', 'x-goog-api-client'];

/** Request headers that belong to one API and must not reach a backend of another. */
export const CALLER_ONLY_HEADERS = [...API_VERSION_HEADERS, 'x-stainless-helper-method'];

/** Every header some API's backend call sets; those the chosen backend does not set are removed. */
export const API_HEADERS = [...CREDENTIAL_HEADERS, ...API_VERSION_HEADERS];
