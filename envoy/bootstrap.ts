/*
 * Builds the Envoy bootstrap for the gateway: one listener, the ext_proc filter in front of the
 * router, routes that follow the cluster the processor picks, and one cluster per provider.
 * The same function renders the committed example configs and the per-test configs on free ports.
 */

import {
  ATTEMPT_COUNT_HEADER,
  BACKEND_METADATA_KEY,
  CALLER_API_METADATA_KEY,
  CHAIN_CLUSTER_PREFIX,
  CLUSTER_HEADER,
  DESTINATION_HEADER,
  EXT_PROC_CLUSTER,
  EXT_PROC_FILTER,
  EXT_PROC_SERVICE,
  FORWARDED_HEADERS,
  HOST_METADATA_ATTRIBUTE,
  METADATA_NAMESPACE,
  PROCESSING_MODE,
  PROCESSOR_TOKEN_HEADER,
  RESPONSE_HEADER,
  SEND_BODY_WITHOUT_WAITING_FOR_HEADER_RESPONSE,
  USAGE_RECORD_KEYS,
} from '../ext-proc/src/contract.js';

export { CHAIN_CLUSTER_PREFIX, CLUSTER_HEADER, DESTINATION_HEADER, EXT_PROC_CLUSTER } from '../ext-proc/src/contract.js';
import { GatewayError } from '../ext-proc/src/errors.js';
import type { FormatId } from '../ext-proc/src/providers/canonical/types.js';
import { FORMATS } from '../ext-proc/src/providers/formats.js';
import { API_FAMILY_PATTERNS, API_HEADER_CUES } from '../ext-proc/src/ingress/endpoints.js';

export interface UpstreamCluster {
  /** Cluster name; the processor selects it through the `x-gateway-cluster` header. */
  name: string;
  host: string;
  port: number;
  /** TLS with SNI = host (real providers); plain HTTP for loopback simulators and local pools. */
  tls: boolean;
  /**
   * A GPU pool: every endpoint (IP literals), picked per request by the processor through Envoy's
   * override-host load balancer (header x-gateway-destination-endpoint, `ip:port[,ip:port...]`,
   * later ones for retries); least-request when the header is absent.
   */
  pool?: Array<{ host: string; port: number }>;
}

/** One endpoint of a fallback-chain cluster: the backend serving one chain member. */
export interface ChainEndpoint {
  host: string;
  port: number;
  tls: boolean;
  /** The chain member (catalog model id) this endpoint serves; the upstream processor reads it. */
  backend: string;
}

/** A cluster holding some members of a fallback chain, one priority level per member, in order. */
export interface ChainCluster {
  name: string;
  endpoints: ChainEndpoint[];
}

/** Where a processor listens: a TCP address, or a Unix socket (`pipe`). */
export type ExtProcEndpoint = { host: string; port: number } | { pipe: string };

export interface BootstrapOptions {
  listenAddress?: string;
  listenPort: number;
  adminAddress?: string;
  adminPort: number;
  /** The processor's gRPC address; omitted renders a bare proxy (the benchmark's baseline). */
  extProc?: ExtProcEndpoint;
  /** Sent on every ext_proc stream; the processor refuses streams without it (PROCESSOR_TOKEN). */
  processorToken?: string;
  /**
   * A listener that serves only the admin interface's `/stats/prometheus`, for a Prometheus that
   * cannot reach the admin interface (which stays on loopback: `/quitquitquit`, `/config_dump`).
   */
  statsListener?: { address: string; port: number };
  /**
   * More processor endpoints behind the same cluster (replicas, or a processor's workers on their
   * own Unix sockets): Envoy balances ext_proc streams across all.
   */
  extProcReplicas?: ExtProcEndpoint[];
  upstreams: UpstreamCluster[];
  /** Where non-LLM paths go, untouched by the processor; omitted: they get 404 from Envoy. */
  passthrough?: UpstreamCluster;
  /** Bare-proxy mode: route LLM paths straight to this cluster (no processor to choose one). */
  fixedCluster?: string;
  /** Largest request body Envoy buffers for the processor (bytes). */
  maxRequestBytes?: number;
  /** Downstream connections Envoy holds at once, all listeners together (default DEFAULT_MAX_CONNECTIONS). */
  maxConnections?: number;
  /** Seconds a caller has to send a whole request, headers and body (default requestReceiveTimeoutS()). */
  requestReceiveTimeoutS?: number;
  /** Access log destination: 'stdout' or a file path. */
  accessLog?: string;
  /** How long the processor may take to answer one message before the call fails closed. */
  messageTimeoutMs?: number;
  /** Fallback-chain clusters (route/chains.ts names them); attempts are translated by an upstream ext_proc. */
  chains?: ChainCluster[];
  /** A chain attempt with no bytes from its backend for this long is abandoned for the next member. */
  attemptIdleTimeoutMs?: number;
  /** A mesh identity header the processor reads (IDENTITY_HEADER) besides x-forwarded-client-cert. */
  identityHeader?: string;
  /**
   * Egress gateway for a mesh: the listener takes TLS and requires client certificates; Envoy sets
   * x-forwarded-client-cert from the verified peer (URI = its SPIFFE id), replacing any sent.
   */
  downstreamMtls?: { certChainPath: string; privateKeyPath: string; clientCaPath: string };
}

/** Upper bound on retries of a chain; the processor lowers it per call with x-envoy-max-retries. */
const MAX_CHAIN_RETRIES = 3;
/** Matches the processor's MAX_REQUEST_BYTES default. */
export const DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024;
const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** Access log line: the usual request fields plus the processor's usage record. */
const ACCESS_LOG_FORMAT: Record<string, string> = {
  time: '%START_TIME%',
  request_id: '%REQ(X-REQUEST-ID)%',
  method: '%REQ(:METHOD)%',
  // Without the query string: Gemini callers may send their gateway key there (`?key=`).
  path: '%REQ_WITHOUT_QUERY(:PATH)%',
  status: '%RESPONSE_CODE%',
  flags: '%RESPONSE_FLAGS%',
  details: '%RESPONSE_CODE_DETAILS%',
  duration_ms: '%DURATION%',
  upstream_cluster: '%UPSTREAM_CLUSTER%',
  upstream_host: '%UPSTREAM_HOST%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  // The processor's usage record; its `error` is logged as gateway_error, apart from Envoy's own.
  ...Object.fromEntries(
    USAGE_RECORD_KEYS.filter((k) => k !== 'request_id').map((k) => [k === 'error' ? 'gateway_error' : k, `%DYNAMIC_METADATA(${METADATA_NAMESPACE}:${k})%`]),
  ),
};

/** Paths the processor serves; everything else bypasses it. */
export const LLM_ROUTES: Array<{ prefix?: string; path?: string }> = [
  { path: '/v1/chat/completions' },
  { path: '/v1/messages' },
  // OpenAI's and Anthropic's model lists, and Gemini's v1 methods under /v1/models/{model}:...
  { prefix: '/v1/models' },
  { prefix: '/v1beta/models' },
  { path: '/api/chat' },
  { path: '/api/tags' },
  // The caller's own usage, answered by the processor from the ledger.
  { path: '/v1/usage' },
];

function accessLog(dest: string) {
  const format = {
    json_format: ACCESS_LOG_FORMAT,
    formatters: [
      {
        name: 'envoy.formatter.req_without_query',
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.formatter.req_without_query.v3.ReqWithoutQuery' },
      },
    ],
  };
  if (dest === 'stdout') {
    return [
      {
        name: 'envoy.access_loggers.stdout',
        typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog', log_format: format },
      },
    ];
  }
  return [
    {
      name: 'envoy.access_loggers.file',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path: dest, log_format: format },
    },
  ];
}

export function cluster(c: UpstreamCluster, http2 = false, more: Array<{ host: string; port: number }> = []): Record<string, unknown> {
  if (c.pool) return poolCluster(c);
  const out: Record<string, unknown> = {
    name: c.name,
    type: /^[\d.]+$/.test(c.host) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: '5s',
    dns_lookup_family: 'V4_PREFERRED',
    load_assignment: {
      cluster_name: c.name,
      endpoints: [{ lb_endpoints: [c, ...more].map((e) => ({ endpoint: { address: { socket_address: { address: e.host, port_value: e.port } } } })) }],
    },
    typed_extension_protocol_options: {
      [HTTP_PROTOCOL_OPTIONS]: {
        '@type': `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`,
        common_http_protocol_options: { idle_timeout: '300s' },
        explicit_http_config: http2 ? { http2_protocol_options: {} } : { http_protocol_options: {} },
      },
    },
  };
  if (c.tls) out.transport_socket = tlsSocket(c.host);
  return out;
}

function downstreamTls(m: NonNullable<BootstrapOptions['downstreamMtls']>): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      require_client_certificate: true,
      common_tls_context: {
        tls_certificates: [{ certificate_chain: { filename: m.certChainPath }, private_key: { filename: m.privateKeyPath } }],
        validation_context: { trusted_ca: { filename: m.clientCaPath } },
      },
    },
  };
}

function poolCluster(c: UpstreamCluster): Record<string, unknown> {
  const endpoints = c.pool!;
  return {
    name: c.name,
    type: 'STATIC',
    connect_timeout: '2s',
    load_assignment: {
      cluster_name: c.name,
      endpoints: [{ lb_endpoints: endpoints.map((e) => ({ endpoint: { address: { socket_address: { address: e.host, port_value: e.port } } } })) }],
    },
    load_balancing_policy: {
      policies: [
        {
          typed_extension_config: {
            name: 'envoy.load_balancing_policies.override_host',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost',
              override_host_sources: [{ header: DESTINATION_HEADER }],
              fallback_policy: {
                policies: [
                  {
                    typed_extension_config: {
                      name: 'envoy.load_balancing_policies.least_request',
                      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest' },
                    },
                  },
                ],
              },
            },
          },
        },
      ],
    },
    typed_extension_protocol_options: {
      [HTTP_PROTOCOL_OPTIONS]: {
        '@type': `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`,
        common_http_protocol_options: { idle_timeout: '300s' },
        explicit_http_config: { http_protocol_options: {} },
      },
    },
  };
}

function tlsSocket(host: string): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      sni: host,
      common_tls_context: { validation_context: { trusted_ca: { filename: '/etc/ssl/certs/ca-certificates.crt' } } },
    },
  };
}

/** Headers the processor needs: routing and auth on requests, status and account headers on responses. */
const FORWARDED_HEADER_PATTERNS = [...FORWARDED_HEADERS.exact.map((exact) => ({ exact })), ...FORWARDED_HEADERS.prefix.map((prefix) => ({ prefix }))];

/** The per-attempt processor also needs the attempt number. */
const UPSTREAM_FORWARDED_HEADERS = [...FORWARDED_HEADER_PATTERNS, { exact: ATTEMPT_COUNT_HEADER }];

/**
 * The ext_proc stanza that runs per attempt inside chain clusters, after Envoy has picked the
 * endpoint: the endpoint's metadata (sent as the `xds.upstream_host_metadata` attribute) names
 * the chain member, and the processor translates the caller's request for it.
 */
function upstreamExtProcFilter(bufferLimit: number, messageTimeoutMs?: number, processorToken?: string): Record<string, unknown> {
  const base = extProcFilter({ bufferLimit, messageTimeoutMs, processorToken }) as { typed_config: Record<string, unknown> };
  return {
    name: EXT_PROC_FILTER,
    typed_config: {
      ...base.typed_config,
      forward_rules: { allowed_headers: { patterns: UPSTREAM_FORWARDED_HEADERS } },
      request_attributes: [HOST_METADATA_ATTRIBUTE],
      // The router-level processor's context for the call (route-context.ts).
      metadata_options: { forwarding_namespaces: { untyped: [METADATA_NAMESPACE] } },
    },
  };
}

/** Bytes Envoy holds for one connection to the processor (see extProcCluster). */
const EXT_PROC_CONNECTION_BUFFER_BYTES = 64 * 1024 * 1024;

/** Fallback attempts in flight at once, per chain cluster (Envoy's default is 3). */
const CHAIN_MAX_CONCURRENT_RETRIES = 100_000;

/** A fallback-chain cluster: member i at priority i, so Envoy fails over in chain order. */
export function chainCluster(c: ChainCluster, bufferLimit: number, messageTimeoutMs?: number, processorToken?: string): Record<string, unknown> {
  const tlsHosts = [...new Set(c.endpoints.filter((e) => e.tls).map((e) => e.host))];
  return {
    name: c.name,
    type: c.endpoints.every((e) => /^[\d.]+$/.test(e.host)) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: '5s',
    dns_lookup_family: 'V4_PREFERRED',
    load_assignment: {
      cluster_name: c.name,
      endpoints: c.endpoints.map((e, priority) => ({
        priority,
        lb_endpoints: [
          {
            endpoint: { address: { socket_address: { address: e.host, port_value: e.port } } },
            metadata: {
              filter_metadata: {
                [METADATA_NAMESPACE]: { [BACKEND_METADATA_KEY]: e.backend },
                ...(e.tls ? { 'envoy.transport_socket_match': { tls_host: e.host } } : {}),
              },
            },
          },
        ],
      })),
    },
    // Each member may need its own TLS name; plain endpoints match no entry and stay plain.
    ...(tlsHosts.length > 0
      ? { transport_socket_matches: tlsHosts.map((host) => ({ name: `tls-${host}`, match: { tls_host: host }, transport_socket: tlsSocket(host) })) }
      : {}),
    // Every attempt after the first is a retry, and Envoy allows only 3 at once per cluster by
    // default: past that, a failed first member's answer went back to the caller with no
    // fallback at all. The chain's length bounds each call's retries already.
    circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_retries: CHAIN_MAX_CONCURRENT_RETRIES }] },
    // A member that keeps failing is set aside for a while: Envoy then starts at the next one.
    outlier_detection: {
      consecutive_5xx: 3,
      consecutive_gateway_failure: 3,
      split_external_local_origin_errors: true,
      consecutive_local_origin_failure: 2,
      interval: '5s',
      base_ejection_time: '30s',
      max_ejection_percent: 100,
    },
    typed_extension_protocol_options: {
      [HTTP_PROTOCOL_OPTIONS]: {
        '@type': `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`,
        common_http_protocol_options: { idle_timeout: '300s' },
        explicit_http_config: { http_protocol_options: {} },
        http_filters: [
          upstreamExtProcFilter(bufferLimit, messageTimeoutMs, processorToken),
          {
            name: 'envoy.filters.http.upstream_codec',
            typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec' },
          },
        ],
      },
    },
  };
}

/** The ext_proc HTTP filter stanza, placed before the router. */
export function extProcFilter(o: {
  bufferLimit: number;
  messageTimeoutMs?: number;
  identityHeader?: string;
  processorToken?: string;
}): Record<string, unknown> {
  return {
    name: EXT_PROC_FILTER,
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor',
      grpc_service: {
        envoy_grpc: { cluster_name: EXT_PROC_CLUSTER, max_receive_message_length: 2 * o.bufferLimit },
        timeout: '30s',
        // Only Envoy may open a processing stream: the processor checks this on each one.
        ...(o.processorToken ? { initial_metadata: [{ key: PROCESSOR_TOKEN_HEADER, value: o.processorToken }] } : {}),
      },
      // Fail closed: an LLM call that skips auth and metering is a leak.
      failure_mode_allow: false,
      // The request body reaches the processor with its headers, which are answered once it is
      // whole (routing depends on it): one round trip. The response body is full-duplex: a whole
      // answer's headers and body go back together, a stream's chunks flow as they are read.
      processing_mode: PROCESSING_MODE,
      send_body_without_waiting_for_header_response: SEND_BODY_WITHOUT_WAITING_FOR_HEADER_RESPONSE,
      // Only the headers the processor reads travel over gRPC.
      forward_rules: {
        allowed_headers: { patterns: o.identityHeader ? [...FORWARDED_HEADER_PATTERNS, { exact: o.identityHeader }] : FORWARDED_HEADER_PATTERNS },
      },
      message_timeout: `${(o.messageTimeoutMs ?? DEFAULT_MESSAGE_TIMEOUT_MS) / 1000}s`,
      max_message_timeout: '30s',
      // The processor rewrites :authority and :path to reach the chosen provider.
      // allow_envoy: chained calls set x-envoy-max-retries to their number of members less one.
      mutation_rules: { allow_all_routing: true, allow_envoy: true },
      metadata_options: { receiving_namespaces: { untyped: [METADATA_NAMESPACE] } },
    },
  };
}

/**
 * Lets Envoy's reply to a request whose HTTP/1 framing breaks after its headers (e.g. a chunk
 * size that is not hex) reach the caller. Placed after the ext_proc filter, so it sees a reply
 * before that filter does.
 *
 * Why it is needed: the HTTP/1 codec answers a protocol error with a local reply, which goes
 * through every encoder filter of a request that already has its filter chain; the ext_proc
 * filter sends the reply's headers to the processor and holds them, and the connection manager
 * then closes the connection in the same call (handleCodecError: FlushWriteAndDelay after
 * resetting every stream), so the held reply is never written: 0 bytes. Neither ext_proc option
 * helps: it has no setting that skips local replies, and mode overrides are ignored with
 * full-duplex bodies and send_body_without_waiting_for_header_response; a buffer filter before
 * it does not either (ext_proc still sends a local reply's headers it never saw a request for).
 *
 * What it does: for a reply whose code details name an HTTP/1 protocol error (`http1.*`, set by
 * the codec before the reply starts), the custom-response filter sends the same reply again
 * from its encodeHeaders. A local reply sent while a reply is being encoded goes straight to the
 * codec, past the remaining filters (FilterManager::sendLocalReply, "directly to the encoder"),
 * and the local_reply_config mappers still render it in the caller's API. Every other answer
 * (the providers', the processor's, Envoy's other replies) passes through untouched.
 */
export function codecErrorReplyFilter(): Record<string, unknown> {
  // CEL `response.code_details.startsWith('http1.')`, parsed (this matcher takes no source text).
  const http1ProtocolError = {
    cel_expr_parsed: {
      expr: {
        id: 1,
        call_expr: {
          target: { id: 2, select_expr: { operand: { id: 3, ident_expr: { name: 'response' } }, field: 'code_details' } },
          function: 'startsWith',
          args: [{ id: 4, const_expr: { string_value: 'http1.' } }],
        },
      },
    },
  };
  return {
    name: 'envoy.filters.http.custom_response',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.custom_response.v3.CustomResponse',
      custom_response_matcher: {
        matcher_list: {
          matchers: [
            {
              predicate: {
                single_predicate: {
                  input: { name: 'http_attributes', typed_config: { '@type': 'type.googleapis.com/xds.type.matcher.v3.HttpAttributesCelMatchInput' } },
                  custom_match: {
                    name: 'http1_protocol_error',
                    typed_config: { '@type': 'type.googleapis.com/xds.type.matcher.v3.CelMatcher', expr_match: http1ProtocolError },
                  },
                },
              },
              // No status or body of its own: the reply keeps Envoy's status, and the mappers give it its body.
              on_match: {
                action: {
                  name: 'reply_past_the_processor',
                  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.http.custom_response.local_response_policy.v3.LocalResponsePolicy' },
                },
              },
            },
          ],
        },
      },
    },
  };
}

/** The processor's cluster: gRPC over HTTP/2, health-checked with grpc.health.v1. */
export function extProcCluster(first: ExtProcEndpoint, more: ExtProcEndpoint[] = []): Record<string, unknown> {
  const all = [first, ...more];
  const tcp = all.filter((e): e is { host: string; port: number } => 'host' in e);
  const base =
    tcp.length === all.length ? cluster({ name: EXT_PROC_CLUSTER, host: tcp[0]!.host, port: tcp[0]!.port, tls: false }, true, tcp.slice(1)) : pipeCluster(all);
  return {
    // Replicas and workers share nothing in process: every ext_proc stream may land on any of them.
    ...base,
    // Envoy 1.40 crashes (SIGSEGV in its HTTP/2 client) when a fallback attempt's ext_proc
    // stream fills this buffer, which the default 1 MiB lets a single large prompt do.
    per_connection_buffer_limit_bytes: EXT_PROC_CONNECTION_BUFFER_BYTES,
    health_checks: [
      {
        timeout: '1s',
        interval: '2s',
        // Idle or not, a processor that went away must show (in /healthz) within seconds, not a minute.
        no_traffic_interval: '2s',
        unhealthy_threshold: 2,
        healthy_threshold: 1,
        grpc_health_check: { service_name: EXT_PROC_SERVICE },
      },
    ],
  };
}

/** The processor's cluster over Unix sockets (a processor beside Envoy, one socket per worker). */
function pipeCluster(endpoints: ExtProcEndpoint[]): Record<string, unknown> {
  return {
    name: EXT_PROC_CLUSTER,
    type: 'STATIC',
    connect_timeout: '5s',
    load_assignment: {
      cluster_name: EXT_PROC_CLUSTER,
      endpoints: [
        {
          lb_endpoints: endpoints.map((e) => ({
            endpoint: { address: 'pipe' in e ? { pipe: { path: e.pipe } } : { socket_address: { address: e.host, port_value: e.port } } },
          })),
        },
      ],
    },
    typed_extension_protocol_options: {
      [HTTP_PROTOCOL_OPTIONS]: {
        '@type': `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS}`,
        common_http_protocol_options: { idle_timeout: '300s' },
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
  };
}

/** Calls whose cluster the processor picked (after it may have rewritten the path). */
export function processorRoute(bufferLimit: number): Record<string, unknown> {
  return {
    name: 'routed_by_processor',
    match: { prefix: '/', headers: [{ name: CLUSTER_HEADER, present_match: true }] },
    route: { cluster_header: CLUSTER_HEADER, timeout: '600s' },
    request_body_buffer_limit: bufferLimit,
    request_headers_to_remove: [CLUSTER_HEADER],
  };
}

/** The route that sends chained calls to their chain cluster, retrying down the chain. */
export function chainRoute(bufferLimit: number, attemptIdleTimeoutMs = 30_000): Record<string, unknown> {
  return {
    name: 'fallback_chain',
    match: { prefix: '/', headers: [{ name: CLUSTER_HEADER, string_match: { prefix: CHAIN_CLUSTER_PREFIX } }] },
    route: { cluster_header: CLUSTER_HEADER, timeout: '600s', retry_policy: chainRetryPolicy(attemptIdleTimeoutMs) },
    request_body_buffer_limit: bufferLimit,
    request_headers_to_remove: [CLUSTER_HEADER],
  };
}

/**
 * Attempts move down the chain on 429, 5xx (529 included), resets, refused connections and
 * attempts that go quiet; the upstream processor sees each attempt's number.
 */
function chainRetryPolicy(attemptIdleTimeoutMs: number): Record<string, unknown> {
  return {
    retry_on: '5xx,reset,connect-failure,retriable-status-codes',
    retriable_status_codes: [429],
    num_retries: MAX_CHAIN_RETRIES,
    per_try_idle_timeout: `${attemptIdleTimeoutMs / 1000}s`,
    retry_back_off: { base_interval: '0.01s', max_interval: '0.05s' },
    retry_priority: {
      name: 'envoy.retry_priorities.previous_priorities',
      typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig', update_frequency: 1 },
    },
  };
}

/** Envoy's buffer must exceed the processor's limit, so oversize bodies get the processor's
 *  413 in the caller's API format rather than Envoy's plain-text one. */
export function envoyBufferLimit(maxRequestBytes: number): number {
  return maxRequestBytes + 1024 * 1024;
}

/**
 * Bounds on what a slow or silent caller can hold. A caller that announces more body than it
 * sends, or trickles headers, is answered 408 within seconds instead of keeping a connection for
 * the 300 s a quiet stream may take; past the connection cap Envoy refuses new connections.
 */
export const DEFAULT_MAX_CONNECTIONS = 10_000;
export const DEFAULT_MESSAGE_TIMEOUT_MS = 5000;

/**
 * How long a caller has to send its whole request. The processor answers a request's headers
 * only once its body is whole, and Envoy gives it the ext_proc message timeout to do so: a body
 * still arriving then would end in a 504 that blames the backend. One second less makes it the
 * caller's 408 instead (4 s by default: an 8 MiB prompt needs 2 MB/s; raise the message timeout
 * for slower links).
 */
export function requestReceiveTimeoutS(messageTimeoutMs = DEFAULT_MESSAGE_TIMEOUT_MS): number {
  return Math.max(1, messageTimeoutMs / 1000 - 1);
}
const REQUEST_HEADERS_TIMEOUT = '10s';
/** An idle keep-alive connection is closed after this long (Envoy's default is an hour). */
const CONNECTION_IDLE_TIMEOUT = '300s';

export function renderBootstrap(o: BootstrapOptions): Record<string, unknown> {
  const bufferLimit = envoyBufferLimit(o.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES);
  // An empty override: its presence is what turns a filter that is off by default on.
  const enableExtProc = { [EXT_PROC_FILTER]: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', overrides: {} } };
  const disableExtProc = o.extProc
    ? { [EXT_PROC_FILTER]: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute', disabled: true } }
    : undefined;

  const llmAction = o.fixedCluster ? { cluster: o.fixedCluster, timeout: '600s' } : { cluster_header: CLUSTER_HEADER, timeout: '600s' };
  const llmRoute = {
    route: llmAction,
    request_body_buffer_limit: bufferLimit,
    // The routing header is for Envoy only; providers never see it.
    request_headers_to_remove: [CLUSTER_HEADER],
  };
  const routes: Record<string, unknown>[] = [
    {
      name: 'healthz',
      match: { path: '/healthz' },
      direct_response: { status: 200, body: { inline_string: '{"status":"ok"}\n' } },
      response_headers_to_add: [{ header: { key: 'content-type', value: 'application/json' } }],
      ...(disableExtProc ? { typed_per_filter_config: disableExtProc } : {}),
    },
    // Once the processor has chosen a cluster it may also have rewritten :path (e.g. Groq's
    // /openai/v1/...), so the re-evaluated route must match on its header, not on the path.
    // A caller cannot ride this route to a provider: the processor runs here too and
    // strips or overwrites any x-gateway-* header the caller sent.
    ...(o.fixedCluster || !o.chains?.length ? [] : [chainRoute(bufferLimit, o.attemptIdleTimeoutMs)]),
    ...(o.fixedCluster ? [] : [processorRoute(bufferLimit)]),
    ...LLM_ROUTES.map((m, i) => ({ name: `llm_${i}`, match: m, ...llmRoute })),
    {
      name: 'passthrough',
      match: { prefix: '/' },
      ...(o.passthrough
        ? { route: { cluster: o.passthrough.name, timeout: '60s' } }
        : { direct_response: { status: 404, body: { inline_string: 'not found\n' } } }),
      ...(disableExtProc ? { typed_per_filter_config: disableExtProc } : {}),
    },
  ];

  const httpFilters: Record<string, unknown>[] = [];
  // /healthz says whether calls can be served: it fails while no processor passes its health checks.
  if (o.extProc) httpFilters.push(healthFilter());
  // Off unless a route is chosen (the virtual host turns it on): Envoy's replies to requests it
  // cannot parse (codec errors, a head over its limits, HTTP/1.0) have no route, and the
  // processor has nothing to add to them; in the chain, Envoy closed the connection while the
  // reply waited for the processor, and the caller got no answer at all.
  if (o.extProc)
    httpFilters.push({
      ...extProcFilter({ bufferLimit, messageTimeoutMs: o.messageTimeoutMs, identityHeader: o.identityHeader, processorToken: o.processorToken }),
      disabled: true,
    });
  // The same for a request that has a route, whose body's framing breaks after its headers
  // went to the processor: the reply goes to the caller past the processor (codecErrorReplyFilter).
  if (o.extProc) httpFilters.push(codecErrorReplyFilter());
  httpFilters.push({ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } });

  const clusters = o.upstreams.map((u) => cluster(u));
  for (const c of o.chains ?? []) clusters.push(chainCluster(c, bufferLimit, o.messageTimeoutMs, o.processorToken));
  if (o.passthrough) clusters.push(cluster(o.passthrough));
  if (o.extProc) clusters.push(extProcCluster(o.extProc, o.extProcReplicas));

  if (o.statsListener) clusters.push(cluster({ name: ADMIN_CLUSTER, host: '127.0.0.1', port: o.adminPort, tls: false }));
  return {
    // Envoy otherwise resets each finished ext_proc stream; Node's HTTP/2 layer counts those resets
    // as a rapid-reset attack (~1,000 per connection) and drops the connection, failing the calls
    // in flight. A graceful close half-closes and lets the processor end the stream.
    layered_runtime: { layers: [{ name: 'static', static_layer: { 'envoy.reloadable_features.ext_proc_graceful_grpc_close': true } }] },
    admin: { address: { socket_address: { address: o.adminAddress ?? '127.0.0.1', port_value: o.adminPort } } },
    overload_manager: connectionCap(o.maxConnections ?? DEFAULT_MAX_CONNECTIONS),
    static_resources: {
      listeners: [
        {
          name: 'gateway',
          address: { socket_address: { address: o.listenAddress ?? '127.0.0.1', port_value: o.listenPort } },
          filter_chains: [
            {
              ...(o.downstreamMtls ? { transport_socket: downstreamTls(o.downstreamMtls) } : {}),
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'gateway',
                    codec_type: 'AUTO',
                    generate_request_id: true,
                    // Every caller is external: Envoy strips the x-envoy-* headers callers send and
                    // makes each request's id itself, so neither can be forged.
                    use_remote_address: true,
                    // An empty list reads as Envoy's default (private ranges are internal): name one no peer has.
                    internal_address_config: { unix_sockets: false, cidr_ranges: [{ address_prefix: '255.255.255.255', prefix_len: 32 }] },
                    ...(o.downstreamMtls ? { forward_client_cert_details: 'SANITIZE_SET', set_current_client_cert_details: { uri: true } } : {}),
                    // Answers can be slow and long (reasoning models): the route timeout bounds a
                    // whole call, and a quiet stream may last this long. Receiving the request is
                    // bounded far tighter.
                    stream_idle_timeout: '300s',
                    request_timeout: `${o.requestReceiveTimeoutS ?? requestReceiveTimeoutS(o.messageTimeoutMs)}s`,
                    request_headers_timeout: REQUEST_HEADERS_TIMEOUT,
                    common_http_protocol_options: { idle_timeout: CONNECTION_IDLE_TIMEOUT },
                    access_log: accessLog(o.accessLog ?? 'stdout'),
                    ...(o.extProc ? { local_reply_config: processorDownReplies() } : {}),
                    route_config: {
                      name: 'gateway',
                      virtual_hosts: [
                        {
                          name: 'all',
                          domains: ['*'],
                          routes,
                          include_request_attempt_count: true,
                          ...(o.extProc ? { typed_per_filter_config: enableExtProc } : {}),
                        },
                      ],
                    },
                    http_filters: httpFilters,
                  },
                },
              ],
            },
          ],
        },
        ...(o.statsListener ? [statsListener(o.statsListener)] : []),
      ],
      clusters,
    },
  };
}

const ADMIN_CLUSTER = 'envoy_admin';

/** Envoy's global cap on downstream connections: past it, new connections are closed at accept. */
function connectionCap(max: number): Record<string, unknown> {
  return {
    resource_monitors: [
      {
        name: 'envoy.resource_monitors.global_downstream_max_connections',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig',
          max_active_downstream_connections: max,
        },
      },
    ],
  };
}

/** Answers /healthz itself: 200 while some processor endpoint passes Envoy's health checks, else 503. */
function healthFilter(): Record<string, unknown> {
  return {
    name: 'envoy.filters.http.health_check',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck',
      pass_through_mode: false,
      headers: [{ name: ':path', string_match: { exact: '/healthz' } }],
      cluster_min_healthy_percentages: { [EXT_PROC_CLUSTER]: { value: 1 } },
    },
  };
}

/**
 * The replies Envoy makes itself, in the caller's API instead of Envoy's plain text:
 * - the processor cannot be reached (killed, restarting, overloaded): a 503 with `retry-after`
 *   instead of an empty 500;
 * - a path no route serves (a typo, a trailing slash, another endpoint of the API): 404;
 * - Envoy's own refusals before the processor has the request (malformed HTTP, headers too
 *   large, a body over the buffer limit, a request not received in time) and its upstream
 *   failures on paths the processor does not see.
 * The API is told as the processor tells it (`apiFamilyOfRequest`, from the same definitions):
 * by the path when it says, else by the SDK's headers (`anthropic-version`, `x-api-key`,
 * `x-goog-api-key`, a `key` query parameter), else OpenAI's.
 * Replies the processor decided (its errors, cache hits) and anything after it sent the call
 * upstream carry its request id in the dynamic metadata and are left alone, but for one kind:
 * - the provider's connection breaking off after its answer began (a reset mid-body): Envoy's
 *   reply then bypasses the processor (which holds a whole answer's headers until its body is
 *   complete), so it is put in the API the processor named when it forwarded the call
 *   (CALLER_API_METADATA_KEY). A stream already under way is cut instead: Envoy cannot reply.
 */
export function processorDownReplies(): Record<string, unknown> {
  const noProcessorAnswer = {
    metadata_filter: {
      matcher: { filter: METADATA_NAMESPACE, path: [{ key: 'request_id' }], value: { string_match: { exact: '\u0000never' } } },
      match_if_key_not_found: true,
    },
  };
  const pathIs = (regex: string) => ({ header_filter: { header: { name: ':path', string_match: { safe_regex: { regex } } } } });
  const requestIdHeader = { header: { key: RESPONSE_HEADER.requestId, value: '%REQ(x-request-id)%' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' };
  const mappers: Record<string, unknown>[] = [];
  const codeDetailsStart = (prefix: string) => ({
    extension_filter: {
      name: 'envoy.access_loggers.extension_filters.cel',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter',
        expression: `response.code_details.startsWith('${prefix}')`,
      },
    },
  });
  // Envoy's metadata filter matches an absent key unless told otherwise.
  const callerApiIs = (api: FormatId) => ({
    metadata_filter: {
      matcher: { filter: METADATA_NAMESPACE, path: [{ key: CALLER_API_METADATA_KEY }], value: { string_match: { exact: api } } },
      match_if_key_not_found: false,
    },
  });
  // The processor died while a call it had sent upstream was under way (its stream failed while
  // the answer was held for it): the request id is already in the metadata, so the mappers below
  // would leave Envoy's bare 500. The call is answered as any other processor failure, in the API
  // the processor named when it forwarded it. A stream whose answer already flows is cut instead.
  for (const api of Object.keys(FORMATS) as FormatId[]) {
    mappers.push({
      filter: {
        and_filter: {
          filters: [statusIs(500), codeDetailsStart('ext_proc_error'), callerApiIs(api)],
        },
      },
      status_code: PROCESSOR_UNAVAILABLE.status,
      headers_to_add: [requestIdHeader, { header: { key: 'retry-after', value: '1' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
      body_format_override: { text_format_source: { inline_string: FORMATS[api].renderError(PROCESSOR_UNAVAILABLE.error) }, content_type: 'application/json' },
    });
  }
  for (const api of Object.keys(FORMATS) as FormatId[]) {
    mappers.push({
      filter: {
        and_filter: {
          filters: [
            { response_flag_filter: { flags: UPSTREAM_FAILURE_FLAGS } },
            // Only after the answer began: before it, Envoy's reply goes through the processor, which renders it.
            codeDetailsStart('upstream_reset_after_response_started'),
            callerApiIs(api),
          ],
        },
      },
      status_code: UPSTREAM_BROKE_OFF.status,
      headers_to_add: [requestIdHeader],
      body_format_override: { text_format_source: { inline_string: FORMATS[api].renderError(UPSTREAM_BROKE_OFF) }, content_type: 'application/json' },
    });
  }
  for (const reply of ENVOY_REPLIES) {
    const status = statusIs(reply.status);
    // The headers and OpenAI (the rest) only under /v1/ for anything but a 404: with a
    // passthrough cluster the rest of the traffic is not the gateway's, and its errors stay Envoy's.
    const v1Only = reply.status === 404 ? [] : [pathIs('(?i)/+v1/.*')];
    const apis: Array<{ api: FormatId; filters: Record<string, unknown>[] }> = [
      ...pathFamilies().map((f) => ({
        api: f.api,
        filters: [f.patterns.length === 1 ? pathIs(f.patterns[0]!) : { or_filter: { filters: f.patterns.map(pathIs) } }],
      })),
      ...API_HEADER_CUES.map((cue) => ({ api: cue.api, filters: [headerCue(cue, pathIs), ...v1Only] })),
      { api: 'openai', filters: v1Only },
    ];
    for (const { api, filters } of apis) {
      mappers.push({
        filter: { and_filter: { filters: [status, noProcessorAnswer, ...filters] } },
        ...(reply.answerStatus ? { status_code: reply.answerStatus } : {}),
        headers_to_add: [
          // The request id Envoy made at the edge, as on every answer the processor gives.
          requestIdHeader,
          ...(reply.retryAfter ? [{ header: { key: 'retry-after', value: '1' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }] : []),
        ],
        body_format_override: { text_format_source: { inline_string: FORMATS[api].renderError(reply.error) }, content_type: 'application/json' },
      });
    }
  }
  // Envoy refused the request before it had a request line and headers to read (a codec error, a
  // head over its limits, HTTP/1.0): nothing tells the caller's API. The reply is an error both
  // OpenAI's and Anthropic's SDKs read (OpenAI's shape with Anthropic's top-level `type`), and
  // carries a request id of its own, made by Envoy.
  for (const reply of ENVOY_REPLIES) {
    mappers.push({
      filter: {
        and_filter: {
          filters: [statusIs(reply.status), { header_filter: { header: { name: ':path', present_match: false } } }],
        },
      },
      ...(reply.answerStatus ? { status_code: reply.answerStatus } : {}),
      headers_to_add: [{ header: { key: RESPONSE_HEADER.requestId, value: '%UNIQUE_ID%' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
      body_format_override: { text_format_source: { inline_string: unknownApiError(reply.error) }, content_type: 'application/json' },
    });
  }
  return { mappers };
}

/** An error body in OpenAI's shape that Anthropic's shape also accepts (see processorDownReplies). */
function unknownApiError(error: GatewayError): string {
  const openai = JSON.parse(FORMATS.openai.renderError(error)) as Record<string, unknown>;
  return JSON.stringify({ type: 'error', ...openai });
}

/** A local-reply filter on the status Envoy gave its reply. */
function statusIs(status: number): Record<string, unknown> {
  return { status_code_filter: { comparison: { op: 'EQ', value: { default_value: status, runtime_key: `llm_gateway.envoy_reply_${status}` } } } };
}

/** API_FAMILY_PATTERNS with an API's consecutive patterns together (one mapper each), in order. */
function pathFamilies(): Array<{ api: FormatId; patterns: string[] }> {
  const out: Array<{ api: FormatId; patterns: string[] }> = [];
  for (const f of API_FAMILY_PATTERNS) {
    const last = out.at(-1);
    if (last?.api === f.api) last.patterns.push(f.pattern);
    else out.push({ api: f.api, patterns: [f.pattern] });
  }
  return out;
}

/** An access-log filter for one API's header cues: any of its headers present, or its query parameter. */
function headerCue(cue: (typeof API_HEADER_CUES)[number], pathIs: (regex: string) => Record<string, unknown>): Record<string, unknown> {
  const filters: Record<string, unknown>[] = cue.headers.map((name) => ({ header_filter: { header: { name, present_match: true } } }));
  if (cue.queryParam) filters.push(pathIs(`[^?]*[?](?:.*&)?${cue.queryParam}=.*`));
  return filters.length === 1 ? filters[0]! : { or_filter: { filters } };
}

/** Envoy's response flags for an upstream that failed: connection failure, reset, protocol error, timeout, overflow. */
const UPSTREAM_FAILURE_FLAGS = ['UC', 'UF', 'UR', 'UPE', 'UH', 'UO', 'URX', 'UT'];

/** The provider's connection broke off in the middle of a whole answer (Envoy's 502/503 reply). */
const UPSTREAM_BROKE_OFF = new GatewayError('upstream', 'The upstream provider broke off its answer (its connection was reset). Retry the request.', {
  code: 'upstream_reset',
});

/** What a caller gets when the processor cannot take part in its call. */
const PROCESSOR_UNAVAILABLE = {
  status: 503,
  error: new GatewayError('unavailable', 'The gateway cannot process LLM calls right now: its processor is unavailable. Retry shortly.', {
    code: 'gateway_unavailable',
  }),
};

/** Envoy's own replies, by the status Envoy gives them, and what the caller gets instead. */
const ENVOY_REPLIES: Array<{ status: number; answerStatus?: number; retryAfter?: boolean; error: GatewayError }> = [
  // An ext_proc failure (no processor) is Envoy's 500; nothing else of Envoy's answers 500.
  { status: 500, answerStatus: 503, retryAfter: true, error: PROCESSOR_UNAVAILABLE.error },
  {
    // Only a path no route takes gets Envoy's 404 (the bootstrap without a passthrough cluster).
    status: 404,
    error: new GatewayError('not_found', 'Unknown endpoint: this gateway serves no API method at this path (check its spelling, case and slashes).', {
      code: 'unknown_url',
    }),
  },
  {
    status: 400,
    error: new GatewayError('invalid_request', 'The request is not valid HTTP (request line, headers or body framing).', { code: 'bad_request' }),
  },
  {
    status: 408,
    error: new GatewayError('request_timeout', 'The request was not received in time. Check its content-length.', { code: 'request_timeout' }),
  },
  { status: 413, error: new GatewayError('too_large', 'The request body exceeds the gateway limit.', { code: 'request_too_large' }) },
  { status: 431, error: new GatewayError('invalid_request', 'The request headers are too large.', { code: 'headers_too_large' }) },
  {
    status: 426,
    error: new GatewayError('invalid_request', 'HTTP/1.0 is not served: send the request over HTTP/1.1 or HTTP/2.', { code: 'http_version_not_supported' }),
  },
  {
    status: 503,
    retryAfter: true,
    error: new GatewayError('unavailable', 'No backend can take the request right now. Retry shortly.', { code: 'upstream_unavailable' }),
  },
  { status: 504, error: new GatewayError('timeout', 'The backend did not answer in time.', { code: 'upstream_timeout' }) },
];

/** Prometheus' view of Envoy: `/stats/prometheus` of the loopback admin interface, and nothing else. */
function statsListener(l: { address: string; port: number }): Record<string, unknown> {
  return {
    name: 'stats',
    address: { socket_address: { address: l.address, port_value: l.port } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
              stat_prefix: 'stats',
              route_config: {
                name: 'stats',
                virtual_hosts: [
                  {
                    name: 'stats',
                    domains: ['*'],
                    routes: [
                      { match: { path: '/stats/prometheus' }, route: { cluster: ADMIN_CLUSTER, timeout: '10s' } },
                      { match: { prefix: '/' }, direct_response: { status: 404, body: { inline_string: 'not found\n' } } },
                    ],
                  },
                ],
              },
              http_filters: [
                { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
              ],
            },
          },
        ],
      },
    ],
  };
}
