import { Authenticator } from './auth/authenticate.js';
import { parseGatewayKeys } from './auth/keys.js';
import { createRedisKeyDirectory } from './auth/key-directory.js';
import { loadMasterKey } from './auth/credentials.js';
import { TenantCredentials } from './auth/tenant-credentials.js';
import { identityMap, type TenantPolicy } from './tenants/policy.js';
import { IdentityAuthenticator } from './auth/identity.js';
import { createMemoryLimiter, createRedisLimiter, type RedisLimiter } from './limits/index.js';
import type { RedisKvStore } from './store/redis.js';
import { filterCatalog } from './catalog/load.js';
import type { EnvConfig } from './config/env.js';
import { flushLogs, type Logger } from './log/logger.js';
import { createMetrics, type GatewayMetrics } from './metering/metrics.js';
import { registrySource, startMetricsServer } from './metering/metrics-server.js';
import { registerRedisMetrics, type RedisComponent } from './metering/redis-metrics.js';
import { modelsListBody } from './providers/openai/models.js';
import { anthropicModelsBody } from './providers/anthropic/models.js';
import { geminiModelsBody } from './providers/gemini/models.js';
import { ollamaTagsBody } from './providers/ollama/models.js';
import type { Catalog } from './catalog/load.js';
import type { FormatId } from './providers/canonical/types.js';
import { Cooldowns, registerCooldownMetrics } from './fallback/cooldown.js';
import { routeContextKey } from './fallback/route-context.js';
import { SharedRouteState } from './route/shared-state.js';
import { createHash } from 'node:crypto';
import { Affinity } from './route/affinity.js';
import { Canaries } from './canary/canaries.js';
import { LatencyTracker } from './route/latency.js';
import type { RoutingConfig } from './route/policy.js';
import { POOL_SOURCES, poolsFromEnv, registerPoolMetrics, type EndpointPool } from './upstream/pools/index.js';
import { ProviderQuotas, registerProviderQuotaMetrics } from './route/provider-quota.js';
import { Router } from './route/router.js';
import type { RoutingContext } from './route/routing-context.js';
import { initClassifier } from './classify/index.js';
import { loadPromptGuard } from './safety/guard/index.js';
import { credentialsFromEnv, UpstreamResolver } from './upstream/resolver.js';
import type { GatewayContext } from './pipeline/context.js';
import { startExtProcServer } from './server/grpc-server.js';
import { ResponseCache } from './cache/response-cache.js';
import { openStore } from './store/open.js';
import { AggregatorRegistry } from 'prom-client';
import { ipcLimiter, ipcStore, type SharedStateClient } from './workers/ipc.js';
import { workerSocketPath } from './workers/count.js';
import { ledgerTarget } from './ledger/config.js';
import { openLedger } from './ledger/ledger.js';
import { configFiles, filesToWatch, loadConfigFiles, type LoadedConfig } from './config/reload/files.js';
import { registerReloadCounter } from './config/reload/metrics.js';
import { onReloadRequest } from './config/reload/signal.js';
import { ConfigStore } from './config/reload/store.js';
import { watchFiles } from './config/reload/watch.js';

export interface Gateway {
  grpcPort: number;
  metricsPort: number;
  metrics: GatewayMetrics;
  providers: string[];
  inFlight(): number;
  close(graceMs?: number): Promise<void>;
}

/** How this process runs: alone, or as one worker of a multi-worker processor (workers/primary.ts). */
export interface ProcessRole {
  /** This worker's number (0 alone): names its Unix socket in GRPC_SOCKET_DIR. */
  index: number;
  /** A worker: its metrics are served by the primary, which also holds the limits and cache when there is no Redis. */
  worker?: { shared: SharedStateClient | undefined };
}

/** Builds the processor from validated configuration and starts its gRPC and metrics servers. */
export async function startGateway(config: EnvConfig, env: NodeJS.ProcessEnv, log: Logger, role: ProcessRole = { index: 0 }): Promise<Gateway> {
  // The catalog, routing and tenant policies: loaded together, and reloaded together (below).
  const files = configFiles(config);
  const { catalog: full, routing: routingConfig, tenants } = loadConfigFiles(files);
  const credentials = credentialsFromEnv(full, env);
  // Models whose provider has no credential are not offered at all: listing them would invite 503s.
  const catalog = filterCatalog(full, (p) => credentials.has(p.id));
  if (catalog.models.length === 0) {
    log.warn({ providers: [...full.providers.values()].map((p) => p.apiKeyEnv) }, 'no provider credential configured: every chat call will get 404');
  }
  const keys = parseGatewayKeys(config.GATEWAY_KEYS);
  // Keys made with `npm run keys` live in Redis; GATEWAY_KEYS seeds keys that need no Redis.
  const keyDirectory = config.REDIS_URL ? createRedisKeyDirectory({ url: config.REDIS_URL, log }) : undefined;
  if (keys.size === 0 && !keyDirectory) log.warn('GATEWAY_KEYS is empty and REDIS_URL unset: every call will get 401');

  const metrics = createMetrics();
  const ledger = openLedger(ledgerTarget(config), { log, registry: metrics.registry });
  // Canary rollbacks and cooldowns are agreed by every replica when Redis is there, for the
  // canaries and backends of the configuration in force.
  let routeNames = sharedRouteNames({ catalog: full, routing: routingConfig });
  const sharedRoute = config.REDIS_URL
    ? new SharedRouteState(config.REDIS_URL, log, {
        get canaries() {
          return routeNames.canaries;
        },
        get backends() {
          return routeNames.backends;
        },
      })
    : undefined;
  const routing = buildRouting({ config: routingConfig, catalog, env, redisUrl: config.REDIS_URL, log, metrics, sharedRoute });
  // A worker without Redis uses the limits and cache its primary holds for all workers.
  const shared = config.REDIS_URL ? undefined : role.worker?.shared;
  const store =
    config.CACHE_TTL_SECONDS <= 0
      ? undefined
      : shared
        ? ipcStore(shared)
        : openStore({ redisUrl: config.REDIS_URL, memoryMaxBytes: config.CACHE_MEMORY_MAX_BYTES, log });
  const cache = store ? new ResponseCache({ store, ttlSeconds: config.CACHE_TTL_SECONDS, maxEntryBytes: config.CACHE_MAX_ENTRY_BYTES, log }) : undefined;
  // One instance without Redis: limits are then per process, like the cache (said at start by openStore).
  const limiter = config.REDIS_URL
    ? createRedisLimiter({ url: config.REDIS_URL, log, commandTimeoutMs: config.LIMITS_TIMEOUT_MS })
    : shared
      ? ipcLimiter(shared)
      : createMemoryLimiter();
  const masterKey = loadMasterKey(env);
  if (masterKey && !config.REDIS_URL) log.warn('GATEWAY_MASTER_KEY is set but REDIS_URL is not: tenant credentials are unavailable');
  const tenantCredentials = masterKey && config.REDIS_URL ? new TenantCredentials(config.REDIS_URL, masterKey, log) : undefined;
  const ctx: GatewayContext = {
    tenantCredentials,
    cache,
    limiter,
    limitsFailOpen: config.LIMITS_FAIL_OPEN,
    auth: new Authenticator(keys, keyDirectory),
    identity: config.IDENTITY_HEADER ? new IdentityAuthenticator(config.IDENTITY_HEADER, identityMap(tenants)) : undefined,
    tenants,
    catalog,
    fullCatalog: full,
    cooldowns: new Cooldowns({ defaultSeconds: config.COOLDOWN_SECONDS, maxSeconds: 300 }, sharedRoute),
    fallbackChains: config.FALLBACK_CHAINS,
    routing,
    resolver: new UpstreamResolver(catalog, credentials),
    modelsListBodies: modelListBodies(catalog),
    metrics,
    log,
    maxRequestBytes: config.MAX_REQUEST_BYTES,
    routeKey: routeContextKey(config.ROUTE_CONTEXT_SECRET),
    piiMode: config.PII_MODE,
    guardMode: config.GUARD_MODE,
    // Loaded once (about 1 MiB of tables) when any tenant can have the guard on.
    guard: guardWanted(config, tenants) ? loadPromptGuard() : undefined,
    ledger,
  };
  // Hot reload: each call reads the configuration in force once (live.current()) and keeps it.
  const live = new ConfigStore<GatewayContext>(ctx, {
    load: (prev) => nextContext(prev, loadConfigFiles(files), { config, env, sharedRoute }),
    log,
    onResult: registerReloadCounter(metrics.registry),
    retire(old, next) {
      routeNames = sharedRouteNames({ catalog: next.fullCatalog, routing: next.routing.config });
      if (next.routing.quotas !== old.routing.quotas) {
        registerProviderQuotaMetrics(metrics.registry, next.routing.quotas);
        void old.routing.quotas.close();
      }
    },
    describe: (c) => ({ models: c.catalog.models.length, policies: c.routing.config.policies.size, tenants: c.tenants.size }),
  });
  const reload = (reason: string, changed?: string[]) => {
    live.reload(reason, changed);
    // Like the start-up lines, a reload is what the operator who caused it looks for: out at once.
    flushLogs();
  };
  const watcher = watchFiles(filesToWatch(files), (changed) => reload('file change', changed), { log });
  const stopReloadRequests = onReloadRequest(reload);
  const redisParts: RedisComponent[] = [];
  if (store?.kind === 'redis') {
    const r = store as RedisKvStore;
    redisParts.push({ name: 'cache', healthy: () => r.healthy(), errors: () => r.errors(), latency: () => r.latency() });
  }
  if (limiter.kind === 'redis') {
    const r = limiter as RedisLimiter;
    redisParts.push({ name: 'limits', healthy: () => r.healthy(), errors: () => r.errors() });
  }
  if (keyDirectory)
    redisParts.push({ name: 'keys', healthy: () => keyDirectory.healthy(), errors: () => keyDirectory.errors(), latency: () => keyDirectory.latency() });
  registerRedisMetrics(metrics.registry, redisParts);
  registerCooldownMetrics(metrics.registry, () => ({ cooldowns: ctx.cooldowns, members: live.current().catalog.models }));
  const socketPath = config.GRPC_SOCKET_DIR ? workerSocketPath(config.GRPC_SOCKET_DIR, role.index) : undefined;
  const grpcServer = await startExtProcServer(() => live.current(), config.GRPC_HOST, config.GRPC_PORT, socketPath, config.PROCESSOR_TOKEN);
  // A worker's metrics are collected by the primary, which serves them all on METRICS_PORT.
  if (role.worker) {
    AggregatorRegistry.setRegistries([metrics.registry]);
    // Constructing one installs the worker's answer to the primary's collection requests.
    new AggregatorRegistry();
  }
  const metricsServer = role.worker
    ? { port: config.METRICS_PORT, close: async () => undefined }
    : await startMetricsServer(registrySource(metrics.registry), config.METRICS_HOST, config.METRICS_PORT);
  const providers = [...credentials.keys()];
  log.info(
    {
      pid: process.pid,
      grpcPort: grpcServer.port,
      socket: socketPath,
      metricsPort: metricsServer.port,
      providers,
      models: catalog.models.length,
      tenants: keys.size,
      cache: store?.kind ?? 'off',
      guard: config.GUARD_MODE,
      ledger: ledger ? `${ledger.kind} ${ledger.where}` : 'off',
    },
    'processor listening',
  );
  // Start-up lines are what an operator looks for first: out at once, not with the next 4 KB.
  flushLogs();

  return {
    grpcPort: grpcServer.port,
    metricsPort: metricsServer.port,
    metrics,
    providers,
    inFlight: grpcServer.inFlight,
    async close(graceMs = config.SHUTDOWN_GRACE_MS) {
      watcher.close();
      stopReloadRequests();
      await grpcServer.shutdown(graceMs);
      await ledger?.close();
      await metricsServer.close();
      await store?.close();
      await keyDirectory?.close();
      await limiter.close();
      await tenantCredentials?.close();
      await live.current().routing.quotas.close();
      await sharedRoute?.close();
      await Promise.all([...routing.pools.values()].map((p) => p.stop()));
    },
  };
}

/**
 * The context after a reload: what follows the files is rebuilt (catalog, tenants, routing
 * policies, and the router, resolver and model lists built on them); what lives across
 * configurations carries over (latency, affinity, pools, limits, cache, cooldowns). Canaries and
 * provider quotas keep their state unless their own configuration changed.
 */
function nextContext(
  prev: GatewayContext,
  loaded: LoadedConfig,
  o: { config: EnvConfig; env: NodeJS.ProcessEnv; sharedRoute: SharedRouteState | undefined },
): GatewayContext {
  const { catalog: full, routing: config, tenants } = loaded;
  const credentials = credentialsFromEnv(full, o.env);
  const catalog = filterCatalog(full, (p) => credentials.has(p.id));
  const guard = prev.guard ?? (guardWanted(o.config, tenants) ? loadPromptGuard() : undefined);
  // Last, once nothing else can fail: a new Canaries takes the canary metrics over at once.
  const r = prev.routing;
  const quotas = sameJson([...r.config.providerQuotas], [...config.providerQuotas])
    ? r.quotas
    : new ProviderQuotas(config.providerQuotas, { redisUrl: o.config.REDIS_URL, log: prev.log });
  const canaries = sameJson(r.config.canaries, config.canaries)
    ? r.canaries
    : new Canaries(config.canaries, { registry: prev.metrics.registry, log: prev.log.child({ component: 'canary' }), sharedState: o.sharedRoute });
  return {
    ...prev,
    tenants,
    catalog,
    fullCatalog: full,
    identity: prev.identity && new IdentityAuthenticator(prev.identity.header, identityMap(tenants)),
    resolver: new UpstreamResolver(catalog, credentials),
    modelsListBodies: modelListBodies(catalog),
    guard,
    routing: { ...r, config, quotas, canaries, router: new Router(catalog, { latency: r.latency, quotas, affinity: r.affinity }) },
  };
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The guard's tables (about 1 MiB) are loaded only when some tenant can have it on. */
function guardWanted(config: EnvConfig, tenants: ReadonlyMap<string, TenantPolicy>): boolean {
  return config.GUARD_MODE !== 'off' || [...tenants.values()].some((t) => t.guard !== undefined && t.guard !== 'off');
}

/** What the shared route state reads from Redis: each canary under a digest of its settings (a changed canary starts clean), and every backend. */
function sharedRouteNames(c: Pick<LoadedConfig, 'catalog' | 'routing'>): { canaries: ReadonlyMap<string, string>; backends: readonly string[] } {
  return {
    canaries: new Map(c.routing.canaries.map((x) => [x.name, createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 12)])),
    backends: c.catalog.models.map((m) => m.id),
  };
}

/** Each API's model list, built once: every API lists every model, whatever serves it. */
function modelListBodies(catalog: Catalog): Record<FormatId, Buffer> {
  return {
    openai: modelsListBody(catalog),
    anthropic: anthropicModelsBody(catalog.models),
    gemini: geminiModelsBody(catalog.models),
    ollama: Buffer.from(JSON.stringify(ollamaTagsBody(catalog.models)), 'utf8'),
  };
}

/**
 * Endpoint picking needs IP addresses (Envoy's override host never resolves names). A pool given
 * as host names (a compose service, a Kubernetes Service) still works through its Envoy cluster,
 * which resolves them, just without per-request picking: say so rather than refuse to start.
 */
function poolsOrNone(env: NodeJS.ProcessEnv, log: Logger): EndpointPool[] {
  const out: EndpointPool[] = [];
  for (const { variable } of POOL_SOURCES) {
    if (!env[variable]) continue;
    try {
      out.push(...poolsFromEnv({ [variable]: env[variable] }));
    } catch (err) {
      log.warn(
        { variable, err: err instanceof Error ? err.message : String(err) },
        'pool endpoints are not IP addresses: Envoy balances them itself, without per-request picking',
      );
    }
  }
  return out;
}

function buildRouting(o: {
  config: RoutingConfig;
  catalog: Catalog;
  env: NodeJS.ProcessEnv;
  redisUrl: string | undefined;
  log: Logger;
  metrics: GatewayMetrics;
  sharedRoute: SharedRouteState | undefined;
}): RoutingContext {
  const latency = new LatencyTracker();
  const quotas = new ProviderQuotas(o.config.providerQuotas, { redisUrl: o.redisUrl, log: o.log });
  registerProviderQuotaMetrics(o.metrics.registry, quotas);
  const affinity = new Affinity();
  // The canaries log their rollbacks themselves (warn, "canary rolled back", with the figures).
  const canaries = new Canaries(o.config.canaries, { registry: o.metrics.registry, log: o.log.child({ component: 'canary' }), sharedState: o.sharedRoute });
  const pools = new Map<string, EndpointPool>();
  // A pool is named as the provider it serves (ollama, vllm).
  for (const pool of poolsOrNone(o.env, o.log)) {
    if (!o.catalog.providers.has(pool.name)) continue;
    pool.start();
    pools.set(pool.name, pool);
  }
  registerPoolMetrics(o.metrics.registry, [...pools.values()]);
  return {
    config: o.config,
    router: new Router(o.catalog, { latency, quotas, affinity }),
    classifier: initClassifier(),
    latency,
    quotas,
    affinity,
    canaries,
    pools,
  };
}
