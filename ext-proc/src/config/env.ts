import { z } from 'zod';
import { LEDGER_ENV } from '../ledger/config.js';

/** Every knob the processor reads from its environment, validated once at start. */
const EnvSchema = z.object({
  GRPC_HOST: z.string().default('127.0.0.1'),
  GRPC_PORT: z.coerce.number().int().min(0).max(65535).default(50051),
  METRICS_HOST: z.string().default('127.0.0.1'),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  GATEWAY_KEYS: z.string().default(''),
  CATALOG_PATH: z.string().optional(),
  /** Largest request body accepted (bytes). Envoy's buffer limit must be above it. */
  MAX_REQUEST_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(32 * 1024 * 1024),
  /** How long in-flight streams may take to finish on SIGTERM before they are cut. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(30_000),
  /** Redis for the response cache (and, later, limits) shared by every replica; unset: in-process. */
  REDIS_URL: z.string().url().optional(),
  /** Response cache lifetime; 0 turns the cache off. */
  CACHE_TTL_SECONDS: z.coerce.number().int().min(0).default(3600),
  /** Answers larger than this are not cached. */
  CACHE_MAX_ENTRY_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  /** Size of the in-process store used when REDIS_URL is unset. */
  CACHE_MEMORY_MAX_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(64 * 1024 * 1024),
  /** Routing policies, provider quotas and canaries (default models/routing.yaml). */
  ROUTING_PATH: z.string().optional(),
  /** Tenant policies (limits, model allow-lists, cache); see models/tenants.example.yaml. */
  TENANTS_PATH: z.string().optional(),
  /**
   * Personal data in prompts, for tenants whose policy does not say (`pii:`): `off`, `detect`
   * (counted in llm_gateway_pii_detected_total and x-gateway-pii, prompts unchanged) or `redact`
   * (the provider sees placeholders such as <EMAIL_1> instead of the values).
   */
  PII_MODE: z.enum(['off', 'detect', 'redact']).default('off'),
  /**
   * Prompt-injection and jailbreak guard, for tenants whose policy does not say (`guard:`): `off`,
   * `monitor` (every checked answer carries x-gateway-guard and x-gateway-guard-score; nothing is
   * refused) or `block` (a flagged call gets 403 prompt_injection and never reaches a provider).
   */
  GUARD_MODE: z.enum(['off', 'monitor', 'block']).default('monitor'),
  /** When the limiter's Redis is down: refuse calls with 503 (default) or let them through. */
  LIMITS_FAIL_OPEN: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  /**
   * How long an admission may wait on the limiter's Redis before the call is refused (or let
   * through, with LIMITS_FAIL_OPEN): the limit every call pays when Redis is slow.
   */
  LIMITS_TIMEOUT_MS: z.coerce.number().int().min(10).max(5000).default(100),
  /**
   * Request header carrying the caller's mesh identity (transparent mode): a tenant whose
   * `identities` lists it is authenticated without a gateway key. `x-forwarded-client-cert` is read
   * as Envoy's XFCC (its URI= elements). Only a header the mesh itself sets may be named here.
   */
  IDENTITY_HEADER: z
    .string()
    .regex(/^[a-z0-9-]+$/, 'a lower-case header name')
    .optional(),
  /**
   * Fallback chains need Envoy's chain clusters with the upstream ext_proc filter (envoy/bootstrap.ts);
   * where Envoy lacks them (Envoy Gateway), turn chains off and every call goes to its model alone.
   */
  /** How long a backend that answered 5xx is skipped by fallback chains and the router (a 429 names its own wait). */
  COOLDOWN_SECONDS: z.coerce.number().min(0).max(300).default(5),
  FALLBACK_CHAINS: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /**
   * Processor worker processes: `auto` (one per CPU available: the affinity, capped by a
   * container's CPU limit) or a count. Several workers share
   * GRPC_PORT (connections are spread among them) and each also listens on its own Unix socket in
   * GRPC_SOCKET_DIR, if set, so an Envoy beside it can balance single streams across them.
   */
  PROCESSOR_WORKERS: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(256)]).default('auto'),
  /**
   * Key that signs the routing context handed from the router-level processor to fallback
   * attempts. Set it, the same on every replica, when several processors serve one Envoy; unset,
   * each processor (and its workers) uses a key of its own.
   */
  ROUTE_CONTEXT_SECRET: z.string().min(32, 'at least 32 characters').optional(),
  /**
   * A shared secret Envoy sends on every ext_proc stream (its `grpc_service.initial_metadata`,
   * x-gateway-processor-token): streams without it are refused. Set it wherever anything but
   * Envoy can reach the gRPC port.
   */
  PROCESSOR_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  /**
   * For Envoys that cannot send gRPC metadata (Envoy Gateway's EnvoyExtensionPolicy): the network
   * itself admits only Envoy to the gRPC port (mesh mTLS with an authorization policy, or a
   * NetworkPolicy), so the processor may listen beyond loopback without PROCESSOR_TOKEN.
   */
  GRPC_NETWORK_RESTRICTED: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  /** A directory for per-worker Unix sockets (`ext-proc-<n>.sock`), besides the TCP port. */
  GRPC_SOCKET_DIR: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** The usage ledger: LEDGER, LEDGER_DIR, LEDGER_FILE, DATABASE_URL, … (ledger/config.ts). */
  ...LEDGER_ENV,
});

export type EnvConfig = z.infer<typeof EnvSchema>;

export class ConfigError extends Error {}

export function readEnv(env: NodeJS.ProcessEnv = process.env): EnvConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid environment:\n  ${lines.join('\n  ')}`);
  }
  const c = parsed.data;
  // Whoever opens a processing stream is handed provider credentials: beyond loopback, only a
  // peer holding the token (Envoy) may.
  if (!LOOPBACK.test(c.GRPC_HOST) && !c.PROCESSOR_TOKEN && !c.GRPC_NETWORK_RESTRICTED) {
    throw new ConfigError(
      `GRPC_HOST=${c.GRPC_HOST} is reachable beyond this host: set PROCESSOR_TOKEN (and the same value in Envoy's ext_proc grpc_service.initial_metadata, x-gateway-processor-token), or GRPC_NETWORK_RESTRICTED=true where the network admits only Envoy`,
    );
  }
  return c;
}

const LOOPBACK = /^(?:127\.\d+\.\d+\.\d+|::1|localhost)$/;
