import type { FormatId } from '../providers/canonical/types.js';

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
];

/** Version and client headers some API's backend call sets itself. */
const API_VERSION_HEADERS = ['anthropic-version', 'anthropic-beta', 'x-goog-api-client'];

/** Request headers that belong to one API and must not reach a backend of another. */
export const CALLER_ONLY_HEADERS = [...API_VERSION_HEADERS, 'x-stainless-helper-method'];

/** Every header some API's backend call sets; those the chosen backend does not set are removed. */
export const API_HEADERS = [...CREDENTIAL_HEADERS, ...API_VERSION_HEADERS];

/**
 * The caller's own body made ready for a backend of the same API: the backend's model name
 * (Gemini's is in the URL instead) and, for OpenAI streams, usage reporting, which the gateway
 * always needs. Returns whether `parsed` changed, so unchanged bodies pass byte for byte.
 */
export function retargetSameFormatBody(parsed: Record<string, unknown>, format: FormatId, upstreamModel: string, stream: boolean): boolean {
  let changed = false;
  if (format !== 'gemini' && parsed.model !== upstreamModel) {
    parsed.model = upstreamModel;
    changed = true;
  }
  if (format === 'openai' && stream) {
    const options = parsed.stream_options as { include_usage?: boolean } | null | undefined;
    if (options?.include_usage !== true) {
      parsed.stream_options = { ...(options ?? {}), include_usage: true };
      changed = true;
    }
  }
  return changed;
}
