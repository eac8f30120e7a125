import type { Classifier } from '../classify/classify.js';
import type { Affinity } from './affinity.js';
import type { Canaries } from '../canary/canaries.js';
import type { LatencyTracker } from './latency.js';
import type { RoutingConfig } from './policy.js';
import type { EndpointPool } from '../upstream/pools/index.js';
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
