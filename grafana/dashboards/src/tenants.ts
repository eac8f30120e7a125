import { bars, Board, RATE, sel, timeSeries } from './panels.js';

const tenant = sel({ tenant: true });
const call = sel({ tenant: true, model: true, provider: true });

/** A budget gauge per tenant: replicas sharing one limiter each report it, the highest is the latest. */
const budget = (metric: string, period: string) => `max by (tenant) (${metric}${sel({ tenant: true }, `period="${period}"`)})`;

export function tenants() {
  return new Board(
    'llm-gateway-tenants',
    'LLM gateway / Tenants & budgets',
    "Each tenant's spend against its budgets, what remains of its limits, and the calls its limits refused.",
  )
    .row('Budgets')
    .panel(
      bars(
        'Budget used today',
        "Spend in the current UTC day as the limiter counts it (calls in flight reserve their worst case), over the tenant's daily budget.",
        'percentunit',
        [{ expr: `${budget('llm_gateway_budget_spent_usd', 'day')} / ${budget('llm_gateway_budget_limit_usd', 'day')}`, legend: '{{tenant}}' }],
        { w: 12, min: 0, max: 1 },
      ),
      bars(
        'Budget used this month',
        "Spend in the current UTC month as the limiter counts it, over the tenant's monthly budget.",
        'percentunit',
        [{ expr: `${budget('llm_gateway_budget_spent_usd', 'month')} / ${budget('llm_gateway_budget_limit_usd', 'month')}`, legend: '{{tenant}}' }],
        { w: 12, min: 0, max: 1 },
      ),
      timeSeries('Spend against the daily budget', "Today's spend and the daily budget, per tenant.", 'currencyUSD', [
        { expr: budget('llm_gateway_budget_spent_usd', 'day'), legend: '{{tenant}} spent' },
        { expr: budget('llm_gateway_budget_limit_usd', 'day'), legend: '{{tenant}} budget' },
      ]),
      timeSeries('Spend against the monthly budget', "This month's spend and the monthly budget, per tenant.", 'currencyUSD', [
        { expr: budget('llm_gateway_budget_spent_usd', 'month'), legend: '{{tenant}} spent' },
        { expr: budget('llm_gateway_budget_limit_usd', 'month'), legend: '{{tenant}} budget' },
      ]),
    )
    .row('Limits')
    .panel(
      timeSeries(
        'Requests per minute left',
        "What remains of the tenant's rpm limit in the current window, at its last call.",
        'short',
        [{ expr: `min by (tenant) (llm_gateway_limit_remaining${sel({ tenant: true }, 'limit="rpm"')})`, legend: '{{tenant}}' }],
        { w: 8 },
      ),
      timeSeries(
        'Tokens per minute left',
        "What remains of the tenant's tpm limit in the current window, at its last call.",
        'short',
        [{ expr: `min by (tenant) (llm_gateway_limit_remaining${sel({ tenant: true }, 'limit="tpm"')})`, legend: '{{tenant}}' }],
        { w: 8 },
      ),
      timeSeries(
        'USD left',
        "What remains of the tenant's daily and monthly budgets, at its last call.",
        'currencyUSD',
        [
          {
            expr: `min by (tenant, limit) (llm_gateway_limit_remaining${sel({ tenant: true }, 'limit=~"usd_per_day|usd_per_month"')})`,
            legend: '{{tenant}} {{limit}}',
          },
        ],
        { w: 8 },
      ),
      timeSeries(
        'Limit rejections',
        'Calls refused by a limit, by tenant, limit (rpm, tpm, usd_per_day, usd_per_month; unavailable = limiter store down) and scope (tenant or key).',
        'reqps',
        [{ expr: `sum by (tenant, limit, scope) (rate(llm_gateway_limit_rejections_total${tenant}[${RATE}]))`, legend: '{{tenant}} {{limit}} ({{scope}})' }],
        { w: 24, stack: true },
      ),
    )
    .row('Usage')
    .panel(
      timeSeries(
        'Spend per hour',
        'USD per hour at the current pace, by tenant.',
        'currencyUSD',
        [{ expr: `sum by (tenant) (rate(llm_gateway_cost_usd_total${call}[${RATE}])) * 3600`, legend: '{{tenant}}' }],
        { w: 8 },
      ),
      timeSeries(
        'Requests/s',
        'Calls that reached a provider, by tenant.',
        'reqps',
        [{ expr: `sum by (tenant) (rate(llm_gateway_requests_total${call}[${RATE}]))`, legend: '{{tenant}}' }],
        { w: 8 },
      ),
      timeSeries(
        'Tokens/s',
        'Input and output tokens, by tenant.',
        'short',
        [{ expr: `sum by (tenant, gen_ai_token_type) (rate(gen_ai_client_token_usage_sum${call}[${RATE}]))`, legend: '{{tenant}} {{gen_ai_token_type}}' }],
        { w: 8 },
      ),
    )
    .build();
}
