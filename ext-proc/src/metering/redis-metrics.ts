import { Counter, Gauge, type Registry } from 'prom-client';

/** A part of the processor that talks to Redis (cache store, limiter, key directory). */
export interface RedisComponent {
  name: string;
  healthy(): boolean;
  errors(): number;
  latency?(): { count: number; meanMs: number };
}

/** Redis health per component, read at scrape time from the components' own counters. */
export function registerRedisMetrics(registry: Registry, components: RedisComponent[]): void {
  if (components.length === 0) return;
  new Gauge({
    name: 'llm_gateway_redis_up',
    help: '1 while the component is connected to Redis, 0 while it is failing fast.',
    labelNames: ['component'],
    // Several workers: up only if every worker is.
    aggregator: 'min',
    registers: [registry],
    collect() {
      for (const c of components) this.set({ component: c.name }, c.healthy() ? 1 : 0);
    },
  });
  new Counter({
    name: 'llm_gateway_redis_errors_total',
    help: 'Redis commands that failed or timed out, or were refused while Redis was down.',
    labelNames: ['component'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of components) this.inc({ component: c.name }, c.errors());
    },
  });
  new Gauge({
    name: 'llm_gateway_redis_latency_mean_seconds',
    help: 'Mean latency of successful Redis commands since start.',
    labelNames: ['component'],
    aggregator: 'average',
    registers: [registry],
    collect() {
      for (const c of components) {
        const l = c.latency?.();
        if (l && l.count > 0) this.set({ component: c.name }, l.meanMs / 1000);
      }
    },
  });
}
