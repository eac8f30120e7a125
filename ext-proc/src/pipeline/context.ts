import type { Authenticator } from '../auth/authenticate.js';
import type { IdentityAuthenticator } from '../auth/identity.js';
import type { TenantCredentials } from '../auth/tenant-credentials.js';
import type { ResponseCache } from '../cache/response-cache.js';
import type { Catalog } from '../catalog/load.js';
import type { Cooldowns } from '../fallback/cooldown.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Limiter } from '../limits/index.js';
import type { Logger } from '../log/logger.js';
import type { GatewayMetrics } from '../metering/metrics.js';
import type { FormatId } from '../providers/canonical/types.js';
import type { RoutingContext } from '../route/routing-context.js';
import type { GuardMode, PromptGuard } from '../safety/guard/verdict.js';
import type { PiiMode } from '../safety/pii/types.js';
import type { TenantPolicy } from '../tenants/policy.js';
import type { UpstreamResolver } from '../upstream/resolver.js';

/**
 * The gateway's collaborators, built at start (gateway.ts) and read-only afterwards: every stage
 * of the request pipeline gets what it needs from here. A configuration reload builds a new one
 * (new catalog, policies and what depends on them; the rest shared); a call keeps the one it began with.
 */
export interface GatewayContext {
  auth: Authenticator;
  /** Per-tenant policy from TENANTS_PATH (limits, model allow-list, cache); absent tenant = defaults. */
  tenants: ReadonlyMap<string, TenantPolicy>;
  /** Models of the providers configured here. */
  catalog: Catalog;
  /** Every model, configured or not: fallback-chain positions (and Envoy's chain clusters) follow it. */
  fullCatalog: Catalog;
  /** Backends that recently refused work; chains and the router start past them. */
  cooldowns: Cooldowns;
  /** Envoy has the chain clusters and the per-attempt filter (FALLBACK_CHAINS). */
  fallbackChains: boolean;
  routing: RoutingContext;
  resolver: UpstreamResolver;
  /** Each API's model-list body, serialised once. */
  modelsListBodies: Readonly<Record<FormatId, Buffer>>;
  metrics: GatewayMetrics;
  log: Logger;
  maxRequestBytes: number;
  /** Absent when the response cache is turned off. */
  cache?: ResponseCache;
  limiter: Limiter;
  /** Tenants' own provider credentials (when GATEWAY_MASTER_KEY and REDIS_URL are set). */
  tenantCredentials?: TenantCredentials;
  /** Transparent mode: tenants authenticated by the mesh identity header (IDENTITY_HEADER). */
  identity?: IdentityAuthenticator;
  /** Let calls through when the limiter's store is down (default: refuse with 503). */
  limitsFailOpen: boolean;
  /** Signs and checks the routing context of fallback attempts (fallback/route-context.ts). */
  routeKey: Buffer;
  /** PII screening for tenants whose policy does not set `pii` (PII_MODE); absent = off. */
  piiMode?: PiiMode;
  /** The prompt-injection guard for tenants whose policy does not set `guard` (GUARD_MODE); absent = off. */
  guardMode?: GuardMode;
  /** The loaded guard model; absent when no tenant can have the guard on (then it is off for all). */
  guard?: PromptGuard;
  /** The usage ledger (LEDGER): one record per finished call, and GET /v1/usage; absent when off. */
  ledger?: Ledger;
}
