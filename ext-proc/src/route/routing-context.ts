import type { Classifier } from '../classify/classify.js';
import type { Affinity } from './affinity.js';
import type { Canaries } from './canary.js';
import type { LatencyTracker } from './latency.js';
import type { RoutingConfig } from './policy.js';
import type { EndpointPool } from './pools/index.js';
import type { ProviderQuotas } from './provider-quota.js';
import type { Router } from './router.js';

/** What routing needs, built once at start and shared by every exchange. */
export interface RoutingContext {
  config: RoutingConfig;
  router: Router;
  classifier: Classifier;
  latency: LatencyTracker;
  quotas: ProviderQuotas;
  affinity: Affinity;
  canaries: Canaries;
  /** GPU pools by the provider id they serve (ollama ← OLLAMA_URLS, vllm ← VLLM_URLS). */
  pools: ReadonlyMap<string, EndpointPool>;
}

/** Request header by which a caller demands that its request stays on local backends. */
export const LOCAL_ONLY_HEADER = 'x-gateway-local-only';
/** Request header Envoy's override-host load balancer reads: the picked pool endpoints, in order. */
export const DESTINATION_HEADER = 'x-gateway-destination-endpoint';
