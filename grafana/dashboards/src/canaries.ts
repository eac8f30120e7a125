import { Board, RATE, sel, singleStat, timeSeries } from './panels.js';

/** Canary metrics are per canary (a name from models/routing.yaml) and variant, no tenant or model. */
const canary = sel({});

/**
 * A rollback as an annotation (1 where Grafana draws it): the canary was active a moment ago and
 * is not now. Read from the `active` gauge, which exists from start, rather than the rollback
 * counter, whose first increment is its first sample (an increase() never sees it).
 */
const ROLLBACK = `(1 - min by (canary) (llm_gateway_canary_active${canary})) == 1 and on (canary) max by (canary) (max_over_time(llm_gateway_canary_active${canary}[2m])) == 1`;

export function canaries() {
  return new Board(
    'llm-gateway-canaries',
    'LLM gateway / Canaries',
    'Canary and stable side by side over the canary window, the traffic each gets, and automatic rollbacks (also drawn as annotations).',
  )
    .annotation(
      'Canary rollbacks',
      ROLLBACK,
      'Canary {{canary}} rolled back',
      'Canary {{canary}} breached its SLO and was rolled back: its traffic goes to stable.',
      'red',
    )
    .row('Health per variant')
    .panel(
      timeSeries('p95 latency per variant', 'Estimated p95 of ok calls over the canary window, as the rollback decision sees it (the worst replica).', 's', [
        { expr: `max by (canary, variant) (llm_gateway_canary_p95_seconds${canary})`, legend: '{{canary}} {{variant}}' },
      ]),
      timeSeries(
        'Error rate per variant',
        'Share of calls that failed over the canary window, as the rollback decision sees it.',
        'percentunit',
        [{ expr: `max by (canary, variant) (llm_gateway_canary_error_rate${canary})`, legend: '{{canary}} {{variant}}' }],
        { min: 0, max: 1 },
      ),
      timeSeries(
        'Calls per variant',
        'Calls covered by each canary, by variant and outcome (ok = 2xx and not cut off).',
        'reqps',
        [
          {
            expr: `sum by (canary, variant, outcome) (rate(llm_gateway_canary_requests_total${canary}[${RATE}]))`,
            legend: '{{canary}} {{variant}} {{outcome}}',
          },
        ],
        { stack: true, w: 24 },
      ),
    )
    .row('State')
    .panel(
      timeSeries(
        'Active',
        '1 while the canary gets its share of traffic, 0 once rolled back (on any replica).',
        'short',
        [{ expr: `min by (canary) (llm_gateway_canary_active${canary})`, legend: '{{canary}}' }],
        { min: 0, max: 1 },
      ),
      singleStat(
        'Rollbacks',
        'Automatic rollbacks decided, per canary, since the processors started.',
        'short',
        [{ expr: `sum by (canary) (llm_gateway_canary_rollbacks_total${canary})`, legend: '{{canary}}' }],
        { w: 12, h: 8 },
      ),
    )
    .build();
}
