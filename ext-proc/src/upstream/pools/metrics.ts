import { Counter, Gauge, Registry } from 'prom-client';
import type { EndpointPool, EndpointSnapshot } from './pool.js';

/**
 * Pool gauges and the picks counter, all filled at scrape time from the pools' own state: the
 * request path only bumps plain counters.
 */
export function registerPoolMetrics(registry: Registry | undefined, pools: readonly EndpointPool[]): Registry {
  const reg = registry ?? new Registry();
  const labelNames = ['pool', 'endpoint'] as const;

  // With several processor workers the primary aggregates their registries: an endpoint's own
  // figures (scraped by every worker) are taken once, the workers' in-flight counts are added.
  const gauge = (
    name: string,
    help: string,
    value: (s: EndpointSnapshot, pool: EndpointPool) => number | undefined,
    aggregator: 'max' | 'sum' = 'max',
  ): void => {
    new Gauge({
      name,
      help,
      labelNames,
      aggregator,
      registers: [reg],
      collect() {
        // Reset first, so an endpoint whose numbers went stale drops out instead of repeating them.
        this.reset();
        for (const p of pools) {
          for (const s of p.snapshot()) {
            const v = value(s, p);
            if (v !== undefined) this.set({ pool: p.name, endpoint: s.endpoint }, v);
          }
        }
      },
    });
  };

  gauge('llm_gateway_pool_queue_depth', "Requests waiting in the endpoint's scheduler queue (vllm:num_requests_waiting), while its metrics are fresh.", (s) =>
    s.fresh ? s.waiting : undefined,
  );
  gauge('llm_gateway_pool_running', 'Requests the endpoint is running (vllm:num_requests_running), while its metrics are fresh.', (s) =>
    s.fresh ? s.running : undefined,
  );
  gauge('llm_gateway_pool_in_flight', 'Requests this processor has sent to the endpoint that have not ended.', (s) => s.inFlight, 'sum');
  gauge('llm_gateway_pool_kv_cache_usage', "The endpoint's KV-cache usage, 0 to 1, while its metrics are fresh.", (s) =>
    s.fresh ? s.kvCacheUsage : undefined,
  );
  gauge('llm_gateway_pool_service_seconds', 'Mean seconds a recent request was served by the endpoint, queue excluded (vLLM pools).', (s) => s.serviceSeconds);
  gauge('llm_gateway_pool_metrics_fresh', "1 while the endpoint's last good /metrics scrape is recent enough to pick by (vLLM pools only).", (s, p) =>
    p.kind === 'vllm' ? (s.fresh ? 1 : 0) : undefined,
  );

  new Counter({
    name: 'llm_gateway_pool_picks_total',
    help: 'Requests whose first choice was this endpoint, by the reason it was chosen.',
    labelNames: ['pool', 'endpoint', 'reason'],
    registers: [reg],
    collect() {
      this.reset();
      for (const p of pools) for (const c of p.pickCounts()) this.inc({ pool: p.name, endpoint: c.endpoint, reason: c.reason }, c.count);
    },
  });
  return reg;
}
