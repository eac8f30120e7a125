import { Board, RATE, sel, singleStat, timeSeries } from './panels.js';

const decisions = sel({ tenant: true });
const saved = sel({ tenant: true });

export function routing() {
  return new Board(
    'llm-gateway-routing',
    'LLM gateway / Routing',
    'What the router decides: the mix of request tiers and domains, the models it sends calls to, what that saves, and how much stays local.',
  )
    .row('Decisions')
    .panel(
      timeSeries(
        'Tier mix',
        "Router decisions by the request's complexity tier.",
        'reqps',
        [{ expr: `sum by (tier) (rate(llm_gateway_route_decisions_total${decisions}[${RATE}]))`, legend: '{{tier}}' }],
        { stack: true, w: 8 },
      ),
      timeSeries(
        'Domain mix',
        "Router decisions by the request's domain.",
        'reqps',
        [{ expr: `sum by (domain) (rate(llm_gateway_route_decisions_total${decisions}[${RATE}]))`, legend: '{{domain}}' }],
        { stack: true, w: 8 },
      ),
      timeSeries(
        'Local share',
        'Share of router decisions that chose a local (on-prem pool) model.',
        'percentunit',
        [
          {
            expr: `sum(rate(llm_gateway_route_decisions_total${sel({ tenant: true }, 'local="true"')}[${RATE}])) / sum(rate(llm_gateway_route_decisions_total${decisions}[${RATE}]))`,
            legend: 'local',
          },
        ],
        { w: 8, min: 0, max: 1 },
      ),
      timeSeries(
        'Reroutes by chosen model',
        'Calls sent to another model than the one named (auto included), by the model chosen.',
        'reqps',
        [
          {
            expr: `sum by (chosen_model) (rate(llm_gateway_reroutes_total${sel({ tenant: true, model: 'chosen_model' })}[${RATE}]))`,
            legend: '{{chosen_model}}',
          },
        ],
        { stack: true },
      ),
      timeSeries('Decisions by tenant', 'Router decisions per tenant, local and cloud apart.', 'reqps', [
        { expr: `sum by (tenant, local) (rate(llm_gateway_route_decisions_total${decisions}[${RATE}]))`, legend: '{{tenant}} local={{local}}' },
      ]),
    )
    .row('Savings')
    .panel(
      singleStat(
        'Routing savings, last 24 h',
        "What routed calls cost less than their policy's premium baseline would have.",
        'currencyUSD',
        [{ expr: `sum(increase(llm_gateway_routing_saved_usd_total${saved}[1d]))` }],
        { w: 6, h: 8 },
      ),
      singleStat(
        'Local share, last 24 h',
        'Share of router decisions that chose a local model.',
        'percentunit',
        [
          {
            expr: `sum(increase(llm_gateway_route_decisions_total${sel({ tenant: true }, 'local="true"')}[1d])) / sum(increase(llm_gateway_route_decisions_total${decisions}[1d]))`,
          },
        ],
        { w: 6, h: 8 },
      ),
      timeSeries('Routing savings per hour', 'USD per hour saved against the premium baseline, by tenant.', 'currencyUSD', [
        { expr: `sum by (tenant) (rate(llm_gateway_routing_saved_usd_total${saved}[${RATE}])) * 3600`, legend: '{{tenant}}' },
      ]),
    )
    .build();
}
