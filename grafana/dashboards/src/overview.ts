import { Board, quantiles, RATE, sel, singleStat, timeSeries } from './panels.js';

const call = sel({ tenant: true, model: true, provider: true });
const cached = sel({ tenant: true, model: true });

/** `4xx` / `5xx` from a status code. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: `${1}` is label_replace's capture reference.
const STATUS_CLASS = '"class", "${1}xx", "status_code", "([45])[0-9][0-9]"';

/** Requests per class of error over all calls that reached a provider, 4xx, 5xx and cut streams apart. */
const errorClasses =
  `sum by (class) (label_replace(label_replace(rate(llm_gateway_requests_total${sel({ tenant: true, model: true, provider: true }, 'status_code!~"2.."')}[${RATE}]), ` +
  `${STATUS_CLASS}), "class", "aborted", "status_code", "aborted"))` +
  ` / ignoring (class) group_left sum(rate(llm_gateway_requests_total${call}[${RATE}]))`;

export function overview() {
  return new Board('llm-gateway-overview', 'LLM gateway / Overview', 'Spend, traffic, errors, latency, cache and routing savings across the gateway.')
    .row('Spend')
    .panel(
      singleStat('Spend, last hour', 'Provider cost of the calls in the last hour (catalog prices × reported usage).', 'currencyUSD', [
        { expr: `sum(increase(llm_gateway_cost_usd_total${call}[1h]))` },
      ]),
      singleStat('Spend, last 24 h', 'Provider cost of the calls in the last 24 hours.', 'currencyUSD', [
        { expr: `sum(increase(llm_gateway_cost_usd_total${call}[1d]))` },
      ]),
      singleStat('Saved by the cache, last 24 h', 'What the cache hits would have cost at the provider.', 'currencyUSD', [
        { expr: `sum(increase(llm_gateway_cache_saved_usd_total${cached}[1d]))` },
      ]),
      singleStat('Saved by routing, last 24 h', "What routed calls cost less than their policy's premium baseline model would have.", 'currencyUSD', [
        { expr: `sum(increase(llm_gateway_routing_saved_usd_total${sel({ tenant: true })}[1d]))` },
      ]),
      timeSeries('Spend per hour by tenant', 'USD per hour at the current pace.', 'currencyUSD', [
        { expr: `sum by (tenant) (rate(llm_gateway_cost_usd_total${call}[${RATE}])) * 3600`, legend: '{{tenant}}' },
      ]),
      timeSeries('Spend per hour by model', 'USD per hour at the current pace.', 'currencyUSD', [
        { expr: `sum by (gen_ai_request_model) (rate(llm_gateway_cost_usd_total${call}[${RATE}])) * 3600`, legend: '{{gen_ai_request_model}}' },
      ]),
    )
    .row('Traffic and errors')
    .panel(
      timeSeries(
        'Requests/s',
        'Calls that reached a provider, by provider; calls the gateway answered itself with an error, by reason.',
        'reqps',
        [
          { expr: `sum by (gen_ai_provider_name) (rate(llm_gateway_requests_total${call}[${RATE}]))`, legend: '{{gen_ai_provider_name}}' },
          { expr: `sum by (reason) (rate(llm_gateway_rejections_total${sel({})}[${RATE}]))`, legend: 'refused: {{reason}}' },
        ],
        { stack: true },
      ),
      timeSeries('Error rate by class', 'Share of calls that ended in a 4xx, a 5xx, or were cut off (aborted).', 'percentunit', [
        { expr: errorClasses, legend: '{{class}}' },
      ]),
    )
    .row('Latency and throughput')
    .panel(
      timeSeries('Request duration', 'Request in → last response byte.', 's', quantiles('gen_ai_server_request_duration_seconds', call)),
      timeSeries('Time to first token', 'Request in → first streamed chunk (streams only).', 's', quantiles('gen_ai_server_time_to_first_token_seconds', call)),
      timeSeries('Output tokens/s', 'Tokens providers produced, by model.', 'short', [
        {
          expr: `sum by (gen_ai_request_model) (rate(gen_ai_client_token_usage_sum${sel({ tenant: true, model: true, provider: true }, 'gen_ai_token_type="output"')}[${RATE}]))`,
          legend: '{{gen_ai_request_model}}',
        },
      ]),
      timeSeries(
        'Cache hit rate and USD saved',
        'Share of cache lookups answered from the cache, and the provider cost those hits avoided (USD per hour).',
        'percentunit',
        [
          {
            expr: `sum(rate(llm_gateway_cache_lookups_total${sel({ tenant: true, model: true }, 'result="hit"')}[${RATE}])) / sum(rate(llm_gateway_cache_lookups_total${cached}[${RATE}]))`,
            legend: 'hit rate',
          },
          { expr: `sum(rate(llm_gateway_cache_saved_usd_total${cached}[${RATE}])) * 3600`, legend: 'USD saved per hour', unit: 'currencyUSD' },
        ],
      ),
    )
    .row('Routing savings')
    .panel(
      timeSeries('Routing savings', "USD per hour routed calls cost less than their policy's premium baseline model would have, by tenant.", 'currencyUSD', [
        { expr: `sum by (tenant) (rate(llm_gateway_routing_saved_usd_total${sel({ tenant: true })}[${RATE}])) * 3600`, legend: '{{tenant}}' },
      ]),
      timeSeries('Routing savings share', 'Routing savings over what the calls would have cost without them (spend + savings).', 'percentunit', [
        {
          expr: `sum(rate(llm_gateway_routing_saved_usd_total${sel({ tenant: true })}[${RATE}])) / (sum(rate(llm_gateway_routing_saved_usd_total${sel({ tenant: true })}[${RATE}])) + sum(rate(llm_gateway_cost_usd_total${sel({ tenant: true })}[${RATE}])))`,
          legend: 'saved / (spend + saved)',
        },
      ]),
    )
    .build();
}
