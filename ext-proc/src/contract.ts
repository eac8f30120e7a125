/*
 * Every name Envoy's configuration and the processor must agree on: filter, cluster, header and
 * dynamic-metadata names, the headers Envoy forwards and the processing mode. envoy/bootstrap.ts
 * renders Envoy's side from these constants and the processor reads and writes the same ones, so
 * a rename here moves both sides at once.
 */

/** The gRPC service Envoy calls, and the health service name Envoy checks. */
export const EXT_PROC_SERVICE = 'envoy.service.ext_proc.v3.ExternalProcessor';
/** The HTTP filter's name; Envoy keys `attributes` in a processing request by it. */
export const EXT_PROC_FILTER = 'envoy.filters.http.ext_proc';
/** The processor's cluster. */
export const EXT_PROC_CLUSTER = 'ext_proc';
/** Fallback chains: one cluster per usable subset of a chain, named `chain-<model>-<mask>`. */
export const CHAIN_CLUSTER_PREFIX = 'chain-';

/** Every header the gateway owns starts with this; callers' own are stripped on the way in. */
export const GATEWAY_HEADER_PREFIX = 'x-gateway-';

/** Request header the processor sets and Envoy's route reads (`cluster_header`); never sent upstream. */
export const CLUSTER_HEADER = 'x-gateway-cluster';
/** Request header Envoy's override-host load balancer reads: the picked pool endpoints, in order. */
export const DESTINATION_HEADER = 'x-gateway-destination-endpoint';
/** Request header by which a caller demands that its request stays on local backends. */
export const LOCAL_ONLY_HEADER = 'x-gateway-local-only';

/** Response headers every answer carries (DESIGN §4) and the router's explanation. */
export const RESPONSE_HEADER = {
  requestId: 'x-gateway-request-id',
  model: 'x-gateway-model',
  provider: 'x-gateway-provider',
  cache: 'x-gateway-cache',
  costUsd: 'x-gateway-cost-usd',
  attempts: 'x-gateway-attempts',
  tier: 'x-gateway-tier',
  domain: 'x-gateway-domain',
  routeReason: 'x-gateway-route-reason',
  /** How many personal-data values the prompt held (when PII screening is on for the tenant). */
  pii: 'x-gateway-pii',
  /** The prompt-injection guard's verdict, `clean` or `flagged` (when the guard is on for the tenant). */
  guard: 'x-gateway-guard',
  /** The guard's score, `0.00`–`1.00` (0.50 is the verdict line). */
  guardScore: 'x-gateway-guard-score',
} as const;

/** Envoy dynamic-metadata namespace the processor writes and the access log reads. */
export const METADATA_NAMESPACE = 'llm_gateway';

/** The per-call usage record in METADATA_NAMESPACE; the access log prints each key. */
export const USAGE_RECORD_KEYS = [
  'request_id',
  'tenant',
  'key_id',
  'model',
  'provider',
  'stream',
  'input_tokens',
  'output_tokens',
  'cached_input_tokens',
  'cost_usd',
  /** true when the tokens are the gateway's estimate (a stream cut off before the provider's report). */
  'usage_estimated',
  'cache',
  'saved_usd',
  'error',
] as const;
export type UsageRecordKey = (typeof USAGE_RECORD_KEYS)[number];

/**
 * Key (in METADATA_NAMESPACE) under which the processor names the caller's API (`openai`,
 * `anthropic`, `gemini`, `ollama`) when it sends a call upstream: a reply Envoy makes itself after
 * that (the provider's connection reset in the middle of an answer) is rendered in that API.
 */
export const CALLER_API_METADATA_KEY = 'caller_api';

/** Key under which the router-level processor hands a chained call's context to its attempts. */
export const ROUTE_CONTEXT_KEY = 'route';
/** Endpoint metadata key (in METADATA_NAMESPACE) naming the chain member an endpoint serves. */
export const BACKEND_METADATA_KEY = 'backend';
/**
 * gRPC metadata Envoy sends on each ext_proc stream when PROCESSOR_TOKEN is set: the processor
 * hands provider credentials to whoever holds a stream, so only Envoy may open one.
 */
export const PROCESSOR_TOKEN_HEADER = 'x-gateway-processor-token';
/** Request attribute carrying the picked endpoint's metadata to the per-attempt filter. */
export const HOST_METADATA_ATTRIBUTE = 'xds.upstream_host_metadata';

/**
 * Headers Envoy forwards to the processor; only these cross gRPC. SDKs send a dozen others per
 * call (user-agent, x-stainless-*, accept, ...) and each costs encoding on both sides.
 */
export const FORWARDED_HEADERS = {
  exact: [
    ':path',
    ':method',
    ':authority',
    ':status',
    'content-length',
    'content-type',
    'x-request-id',
    'authorization',
    'x-api-key',
    'x-goog-api-key',
    'anthropic-version',
    'cache-control',
    'x-forwarded-client-cert',
    'retry-after',
    'openai-organization',
    'openai-project',
    'set-cookie',
  ],
  // Gateway headers (stripped from callers) and the provider's account headers (hidden from them).
  prefix: [GATEWAY_HEADER_PREFIX, 'x-ratelimit-', 'anthropic-ratelimit-'],
} as const;
/** The per-attempt filter also needs the attempt number. */
export const ATTEMPT_COUNT_HEADER = 'x-envoy-attempt-count';

/**
 * How the filter sends a call to the processor. The request body streams to the processor
 * without waiting for the answer to the headers, so the processor sees headers and body at once
 * and answers both in one round trip; the response body is full-duplex, so the processor answers
 * the response headers when it chooses (after a whole non-stream answer, with its cost; at once
 * for a stream) and a non-stream answer costs one more round trip, not two.
 * The processor also serves filters configured the classic way (request body BUFFERED, response
 * body STREAMED with mode overrides), e.g. Envoy Gateway's: Envoy says which in every stream.
 */
export const PROCESSING_MODE = {
  request_header_mode: 'SEND',
  request_body_mode: 'STREAMED',
  request_trailer_mode: 'SKIP',
  response_header_mode: 'SEND',
  response_body_mode: 'FULL_DUPLEX_STREAMED',
  // Full-duplex bodies require trailers to be sent (they mark the end of a body that has trailers).
  response_trailer_mode: 'SEND',
} as const;
export const SEND_BODY_WITHOUT_WAITING_FOR_HEADER_RESPONSE = true;
