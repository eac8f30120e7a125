import { Board, quantiles, RATE, sel, timeSeries } from './panels.js';

const any = sel({});
/** The HTTP connection manager of the gateway's listener (envoy/bootstrap.ts stat_prefix). */
const gateway = sel({}, 'envoy_http_conn_manager_prefix="gateway"');
/** The processor's own cluster in Envoy, and the provider, pool and chain clusters. */
const extProcCluster = sel({}, 'envoy_cluster_name="ext_proc"');
const upstreams = sel({}, 'envoy_cluster_name!="ext_proc"', 'envoy_cluster_name!="admin"');
/** Fallback attempts run the processor again as an upstream filter of the chain clusters. */
const chains = sel({}, 'envoy_cluster_name=~"chain-.*"');

export function internals() {
  return new Board(
    'llm-gateway-internals',
    'LLM gateway / Gateway internals',
    "The processor's own cost per ext_proc phase, Envoy's view of the processor and of the upstreams, Redis, and the Node.js runtime.",
  )
    .row('ext_proc in the processor')
    .panel(
      timeSeries(
        'Phase latency',
        'Processor time answering one ext_proc message, by phase: from the message that let it answer (for a whole body, its last chunk) to the answer.',
        's',
        quantiles('llm_gateway_ext_proc_phase_seconds', any, ['phase'], [0.5, 0.99]),
      ),
      timeSeries('Streams in flight', 'ext_proc streams open now, per processor (the autoscaling signal).', 'short', [
        { expr: `sum by (instance) (llm_gateway_ext_proc_streams_in_flight${any})`, legend: '{{instance}}' },
      ]),
    )
    .row('ext_proc in Envoy')
    .panel(
      timeSeries(
        'Processing streams',
        'Streams Envoy opened to the processor at the router and per fallback attempt, and the ones that failed or hit the message timeout.',
        'ops',
        [
          { expr: `sum(rate(envoy_http_ext_proc_streams_started${gateway}[${RATE}]))`, legend: 'router: started' },
          { expr: `sum(rate(envoy_cluster_ext_proc_streams_started${chains}[${RATE}]))`, legend: 'fallback attempts: started' },
          { expr: `sum(rate(envoy_http_ext_proc_streams_failed${gateway}[${RATE}]))`, legend: 'router: failed' },
          { expr: `sum(rate(envoy_http_ext_proc_message_timeouts${gateway}[${RATE}]))`, legend: 'router: message timeouts' },
        ],
      ),
      timeSeries(
        'Processor answers',
        'Messages exchanged with the processor, its immediate responses (errors, cache hits, model lists), and calls let through without it (failure_mode_allow).',
        'ops',
        [
          { expr: `sum(rate(envoy_http_ext_proc_stream_msgs_sent${gateway}[${RATE}]))`, legend: 'messages sent' },
          { expr: `sum(rate(envoy_http_ext_proc_stream_msgs_received${gateway}[${RATE}]))`, legend: 'messages received' },
          { expr: `sum(rate(envoy_http_ext_proc_immediate_responses_sent${gateway}[${RATE}]))`, legend: 'immediate responses' },
          { expr: `sum(rate(envoy_http_ext_proc_failure_mode_allowed${gateway}[${RATE}]))`, legend: 'let through without the processor' },
        ],
      ),
      timeSeries(
        'Processor cluster',
        "Envoy's connections to the processor and how its health checks go.",
        'short',
        [
          { expr: `sum(envoy_cluster_upstream_cx_active${extProcCluster})`, legend: 'connections' },
          { expr: `sum(envoy_cluster_membership_healthy${extProcCluster})`, legend: 'healthy members' },
          { expr: `sum(rate(envoy_cluster_health_check_failure${extProcCluster}[${RATE}]))`, legend: 'health check failures/s' },
        ],
        { w: 24 },
      ),
    )
    .row('Envoy: callers and upstreams')
    .panel(
      timeSeries(
        'Downstream responses',
        'Responses of the gateway listener, by status class.',
        'reqps',
        [
          {
            expr: `sum by (envoy_response_code_class) (rate(envoy_http_downstream_rq_xx${gateway}[${RATE}]))`,
            legend: '{{envoy_response_code_class}}xx',
          },
        ],
        { stack: true },
      ),
      timeSeries(
        'Downstream duration',
        'Caller request in → response complete, at Envoy (processor and provider included).',
        'ms',
        quantiles('envoy_http_downstream_rq_time', gateway, [], [0.5, 0.99]),
      ),
      timeSeries('Upstream responses by cluster', 'Responses from providers, pools and fallback chains, by cluster and status class.', 'reqps', [
        {
          expr: `sum by (envoy_cluster_name, envoy_response_code_class) (rate(envoy_cluster_upstream_rq_xx${upstreams}[${RATE}]))`,
          legend: '{{envoy_cluster_name}} {{envoy_response_code_class}}xx',
        },
      ]),
      timeSeries(
        'Upstream latency p95 by cluster',
        'Request sent upstream → response complete, per cluster.',
        'ms',
        quantiles('envoy_cluster_upstream_rq_time', upstreams, ['envoy_cluster_name'], [0.95]),
      ),
      timeSeries(
        'Upstream retries and failures',
        "Envoy's retries (fallback chains and pool endpoints), upstream timeouts and connection failures.",
        'ops',
        [
          { expr: `sum by (envoy_cluster_name) (rate(envoy_cluster_upstream_rq_retry${upstreams}[${RATE}]))`, legend: '{{envoy_cluster_name}} retries' },
          { expr: `sum(rate(envoy_cluster_upstream_rq_timeout${upstreams}[${RATE}]))`, legend: 'timeouts' },
          { expr: `sum(rate(envoy_cluster_upstream_cx_connect_fail${upstreams}[${RATE}]))`, legend: 'connect failures' },
        ],
        { w: 24 },
      ),
    )
    .row('Redis')
    .panel(
      timeSeries(
        'Redis up',
        '1 while the component (cache, limits, keys) is connected to Redis, on every processor.',
        'short',
        [{ expr: `min by (component) (llm_gateway_redis_up${any})`, legend: '{{component}}' }],
        { w: 8, min: 0, max: 1 },
      ),
      timeSeries(
        'Redis latency',
        'Mean latency of successful Redis commands since start, per component (the slowest processor).',
        's',
        [{ expr: `max by (component) (llm_gateway_redis_latency_mean_seconds${any})`, legend: '{{component}}' }],
        { w: 8 },
      ),
      timeSeries(
        'Redis errors',
        'Commands that failed, timed out, or were refused while Redis was down.',
        'ops',
        [{ expr: `sum by (component) (rate(llm_gateway_redis_errors_total${any}[${RATE}]))`, legend: '{{component}}' }],
        { w: 8 },
      ),
    )
    .row('Node.js runtime')
    .panel(
      timeSeries('Event-loop lag', 'p99 and mean event-loop delay per processor: the queueing every call waits through.', 's', [
        { expr: `max by (instance) (llm_gateway_process_nodejs_eventloop_lag_p99_seconds${any})`, legend: '{{instance}} p99' },
        { expr: `max by (instance) (llm_gateway_process_nodejs_eventloop_lag_mean_seconds${any})`, legend: '{{instance}} mean' },
      ]),
      timeSeries('Memory', 'Resident set and V8 heap used, per processor.', 'bytes', [
        { expr: `sum by (instance) (llm_gateway_process_process_resident_memory_bytes${any})`, legend: '{{instance}} RSS' },
        { expr: `sum by (instance) (llm_gateway_process_nodejs_heap_size_used_bytes${any})`, legend: '{{instance}} heap used' },
      ]),
      timeSeries('GC', 'Share of time spent in garbage collection, by kind.', 'percentunit', [
        { expr: `sum by (instance, kind) (rate(llm_gateway_process_nodejs_gc_duration_seconds_sum${any}[${RATE}]))`, legend: '{{instance}} {{kind}}' },
      ]),
      timeSeries('CPU', 'CPU seconds per second, per processor.', 'percentunit', [
        { expr: `sum by (instance) (rate(llm_gateway_process_process_cpu_seconds_total${any}[${RATE}]))`, legend: '{{instance}}' },
      ]),
    )
    .build();
}
