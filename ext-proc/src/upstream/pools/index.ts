export { EndpointPool, PICK_REASONS } from './pool.js';
export type { EndpointSnapshot, Outcome, Pick, PickReason, PickRequest, PoolEndpointConfig, PoolKind, PoolOptions } from './pool.js';
export { POOL_SOURCES, poolsFromEnv } from './env.js';
export { registerPoolMetrics } from './metrics.js';
export { parseVllmMetrics, NotVllmMetricsError } from './vllm-metrics.js';
export type { VllmLoad } from './vllm-metrics.js';
export { endpointAddress, EndpointAddressError } from './address.js';
