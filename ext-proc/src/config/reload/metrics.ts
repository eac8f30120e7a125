import { Counter, type Registry } from 'prom-client';
import type { ReloadResult } from './store.js';

/**
 * `llm_gateway_config_reloads_total{result}`: hot reloads of the catalog, routing and tenant
 * policies. Both results are exported from the start (at 0), so an alert on an increase of
 * `failed` fires on the first failure too. With several workers each reloads, and the primary
 * sums them.
 */
export function registerReloadCounter(registry: Registry): (result: ReloadResult) => void {
  const counter = new Counter({
    name: 'llm_gateway_config_reloads_total',
    help: 'Hot reloads of the model catalog, routing policies and tenant policies, by result (failed: the previous configuration was kept).',
    labelNames: ['result'],
    registers: [registry],
  });
  for (const result of ['ok', 'failed'] as const) counter.inc({ result }, 0);
  return (result) => counter.inc({ result });
}
