import { Board, quantiles, RATE, sel, timeSeries } from './panels.js';

const call = sel({ tenant: true, model: true, provider: true });
const member = sel({ model: true, provider: true });

export function models() {
  return new Board(
    'llm-gateway-models',
    'LLM gateway / Models & providers',
    'Latency and errors per model and provider, fallback chains at work, cooldowns and free-tier quotas.',
  )
    .row('Latency')
    .panel(
      timeSeries(
        'Request duration p95 by model',
        'Request in → last response byte.',
        's',
        quantiles('gen_ai_server_request_duration_seconds', call, ['gen_ai_request_model'], [0.95]),
      ),
      timeSeries(
        'Time to first token p95 by model',
        'Request in → first streamed chunk.',
        's',
        quantiles('gen_ai_server_time_to_first_token_seconds', call, ['gen_ai_request_model'], [0.95]),
      ),
      timeSeries(
        'Request duration by provider',
        'Median and p99 per provider.',
        's',
        quantiles('gen_ai_server_request_duration_seconds', call, ['gen_ai_provider_name'], [0.5, 0.99]),
        { w: 24 },
      ),
    )
    .row('Errors')
    .panel(
      timeSeries('Error ratio by provider', 'Share of calls to the provider that did not end in a 2xx (cut streams included).', 'percentunit', [
        {
          expr: `sum by (gen_ai_provider_name) (rate(llm_gateway_requests_total${sel({ tenant: true, model: true, provider: true }, 'status_code!~"2.."')}[${RATE}])) / sum by (gen_ai_provider_name) (rate(llm_gateway_requests_total${call}[${RATE}]))`,
          legend: '{{gen_ai_provider_name}}',
        },
      ]),
      timeSeries(
        'Errors by model and status',
        'Calls that did not end in a 2xx, by the model that answered and its status.',
        'reqps',
        [
          {
            expr: `sum by (gen_ai_request_model, status_code) (rate(llm_gateway_requests_total${sel({ tenant: true, model: true, provider: true }, 'status_code!~"2.."')}[${RATE}]))`,
            legend: '{{gen_ai_request_model}} {{status_code}}',
          },
        ],
        { stack: true },
      ),
      timeSeries(
        'Streams cut off',
        'Answers that ended before their last byte (caller gone, provider reset), by provider.',
        'reqps',
        [{ expr: `sum by (gen_ai_provider_name) (rate(llm_gateway_streams_aborted_total${call}[${RATE}]))`, legend: '{{gen_ai_provider_name}}' }],
        { w: 24 },
      ),
    )
    .row('Fallback chains')
    .panel(
      timeSeries(
        'Fallback attempts',
        'Attempts down fallback chains, by the member tried and what it answered; a 429 or 5xx moves the call on to the next member.',
        'reqps',
        [
          {
            expr: `sum by (gen_ai_request_model, status_code) (rate(llm_gateway_upstream_attempts_total${call}[${RATE}]))`,
            legend: '{{gen_ai_request_model}} {{status_code}}',
          },
        ],
        { stack: true },
      ),
      timeSeries('Chains exhausted', 'Chained calls whose every member refused, by the chain head.', 'reqps', [
        {
          expr: `sum by (gen_ai_request_model) (rate(llm_gateway_fallback_exhausted_total${sel({ tenant: true, model: true })}[${RATE}]))`,
          legend: '{{gen_ai_request_model}}',
        },
      ]),
      timeSeries(
        'Cooling down',
        'Members the chains and the router skip after a 429 or 5xx, until their retry-after (or the default cooldown) is over: 1 while cooling down.',
        'short',
        [
          {
            expr: `max by (gen_ai_provider_name, gen_ai_request_model) (max_over_time(llm_gateway_provider_cooling_down${member}[${RATE}]))`,
            legend: '{{gen_ai_provider_name}} {{gen_ai_request_model}}',
          },
        ],
        { min: 0, max: 1 },
      ),
      timeSeries(
        'Free-tier quota used',
        "Share of each provider's free-tier quota used: requests this minute, tokens today. The router steers away at 90 %.",
        'percentunit',
        [
          {
            expr: `max by (gen_ai_provider_name, window) (llm_gateway_provider_quota_used_ratio${sel({ provider: true })})`,
            legend: '{{gen_ai_provider_name}} per {{window}}',
          },
        ],
        { min: 0, max: 1 },
      ),
    )
    .build();
}
