import { Board, POOL_PROVIDERS, RATE, sel, timeSeries } from './panels.js';

/** Pool gauges carry pool and endpoint (an address from POOL_URLS), no tenant or model. */
const pool = sel({});

export function pools() {
  return new Board(
    'llm-gateway-pools',
    'LLM gateway / GPU pools',
    'Local Ollama and vLLM pools: queues, KV cache, where the picker sends calls, and endpoints that turn work away.',
  )
    .row('Load')
    .panel(
      timeSeries('Queue depth', "Requests waiting in each endpoint's scheduler (vllm:num_requests_waiting), while its metrics are fresh.", 'short', [
        { expr: `max by (pool, endpoint) (llm_gateway_pool_queue_depth${pool})`, legend: '{{pool}} {{endpoint}}' },
      ]),
      timeSeries(
        'KV-cache use',
        "Each endpoint's KV-cache usage, while its metrics are fresh.",
        'percentunit',
        [{ expr: `max by (pool, endpoint) (llm_gateway_pool_kv_cache_usage${pool})`, legend: '{{pool}} {{endpoint}}' }],
        { min: 0, max: 1 },
      ),
      timeSeries(
        'Running',
        'Requests each endpoint is running (vllm:num_requests_running).',
        'short',
        [{ expr: `max by (pool, endpoint) (llm_gateway_pool_running${pool})`, legend: '{{pool}} {{endpoint}}' }],
        { w: 8 },
      ),
      timeSeries(
        'In flight',
        'Requests the processors have sent to each endpoint that have not ended.',
        'short',
        [{ expr: `sum by (pool, endpoint) (llm_gateway_pool_in_flight${pool})`, legend: '{{pool}} {{endpoint}}' }],
        { w: 8 },
      ),
      timeSeries(
        'Metrics fresh',
        "1 while the endpoint's last /metrics scrape is recent enough to pick by (vLLM).",
        'short',
        [{ expr: `min by (pool, endpoint) (llm_gateway_pool_metrics_fresh${pool})`, legend: '{{pool}} {{endpoint}}' }],
        { w: 8, min: 0, max: 1 },
      ),
    )
    .row('Picks and refusals')
    .panel(
      timeSeries(
        'Picks per endpoint',
        'Calls whose first choice was the endpoint, by why: least-loaded, affinity, adapter-loaded, all-full, …',
        'reqps',
        [{ expr: `sum by (pool, endpoint, reason) (rate(llm_gateway_pool_picks_total${pool}[${RATE}]))`, legend: '{{endpoint}} {{reason}}' }],
        { stack: true },
      ),
      timeSeries(
        'Busy (503)',
        "Endpoints turning work away: Envoy's 503s from the pool clusters (each one retried on another endpoint when there is one), and pool calls the caller got as 503.",
        'reqps',
        [
          {
            expr: `sum by (envoy_cluster_name) (rate(envoy_cluster_upstream_rq${sel({}, `envoy_cluster_name=~"${POOL_PROVIDERS}"`, 'envoy_response_code="503"')}[${RATE}]))`,
            legend: 'endpoint 503 {{envoy_cluster_name}}',
          },
          {
            expr: `sum by (gen_ai_provider_name) (rate(llm_gateway_requests_total${sel({ tenant: true, model: true, provider: true }, `gen_ai_provider_name=~"${POOL_PROVIDERS}"`, 'status_code="503"')}[${RATE}]))`,
            legend: 'caller got 503 {{gen_ai_provider_name}}',
          },
        ],
      ),
      timeSeries('Pool latency', 'Request duration p95 of the pool models.', 's', [
        {
          expr: `histogram_quantile(0.95, sum by (le, gen_ai_request_model) (rate(gen_ai_server_request_duration_seconds_bucket${sel({ tenant: true, model: true, provider: true }, `gen_ai_provider_name=~"${POOL_PROVIDERS}"`)}[${RATE}])))`,
          legend: '{{gen_ai_request_model}} p95',
        },
      ]),
      timeSeries('Pool time to first token', 'Time to first token p95 of the pool models: it grows with the queue.', 's', [
        {
          expr: `histogram_quantile(0.95, sum by (le, gen_ai_request_model) (rate(gen_ai_server_time_to_first_token_seconds_bucket${sel({ tenant: true, model: true, provider: true }, `gen_ai_provider_name=~"${POOL_PROVIDERS}"`)}[${RATE}])))`,
          legend: '{{gen_ai_request_model}} p95',
        },
      ]),
    )
    .build();
}
