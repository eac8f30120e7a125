/**
 * Gateway keys in Redis, shared by every processor replica and managed with `npm run keys`.
 *
 * Layout (the clear key is never stored, and never logged):
 *   llmgw:key:<sha256 hex of the key>   HASH  v, tenant, keyId, name?, createdAt, expiresAt?,
 *                                              revoked ("0"/"1"), revokedAt?, models? (JSON), limits? (JSON)
 *   llmgw:key-id:<keyId>                STRING the sha256 hex (keyId = its first 12 hex digits), to revoke by id
 *   llmgw:tenant-keys:<tenant>          SET    key ids of the tenant, for listing
 *   llmgw:tenants                       SET    tenants that have keys, for listing them all
 *
 * Revocation: `lookup` reads the record from Redis on every call (one HGETALL, ~0.1 ms on a local
 * network) and keeps no local cache, so a revoke is seen by the very next request on every replica.
 * A short cache invalidated over pub/sub would save that round trip but brings back a window:
 * pub/sub is fire-and-forget, so a replica whose subscriber connection is reconnecting misses the
 * message and serves the revoked key until its entry ages out. One key read per request is cheap
 * next to the cache lookup and the upstream call the request is about to make anyway.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Logger } from '../log/logger.js';
import { createRedisConnection, describeRedisUrl, type LatencyStats, type RedisConnectionMessages } from '../store/redis-connection.js';
import { MODEL_NAME_RE } from '../catalog/schema.js';
import type { Limits } from '../tenants/policy.js';
import { hashKey, keyIdOf, TENANT_NAME_RE, type Principal } from './keys.js';

export type { Limits } from '../tenants/policy.js';
/** For the key directory, `count` is the lookups that got an answer from Redis. */
export type { LatencyStats } from '../store/redis-connection.js';

export interface KeyRecord {
  tenant: string;
  /** First 12 hex digits of the key's SHA-256: safe to show, log and put in metrics. */
  keyId: string;
  name?: string;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601; the key is refused from this instant on. */
  expiresAt?: string;
  revoked: boolean;
  /** ISO 8601, when revoked. */
  revokedAt?: string;
  /** Allow-list of model names for this key (on top of the tenant policy's). */
  models?: string[];
  /** Limits of this key alone (counted per key, besides the tenant's own limits). */
  limits?: Limits;
}

export interface PrincipalWithPolicy extends Principal {
  models?: ReadonlySet<string>;
  limits?: Limits;
}

/** What the request path calls. */
export interface KeyDirectory {
  /**
   * The principal for a presented key; undefined = unknown, revoked or expired (401);
   * 'unavailable' = the directory could not be asked (Redis down): fail closed, 503.
   */
  lookup(key: string, nowMs?: number): Promise<PrincipalWithPolicy | undefined | 'unavailable'>;
}

export interface RedisKeyDirectory extends KeyDirectory {
  /** True while Redis is connected and lookups can be answered. */
  healthy(): boolean;
  /** Lookups that returned 'unavailable' (Redis down, timed out, or refused the command). */
  errors(): number;
  latency(): LatencyStats;
  close(): Promise<void>;
}

export interface RedisKeyDirectoryOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`. */
  url: string;
  log: Logger;
  /** How long one lookup may wait for Redis before it counts as 'unavailable'. Default 100 ms. */
  commandTimeoutMs?: number;
  /**
   * Consecutive timeouts on an open-looking connection (with no bytes from the server for a whole
   * timeout period) before it is dropped and re-made. 0 disables. Default 3.
   */
  timeoutsBeforeReconnect?: number;
}

export class KeyInputError extends Error {
  override name = 'KeyInputError';
}

export const KEY_PREFIX = 'gw-';
/** Only keys of this shape can be in Redis (createKey makes them); anything else is unknown without a round trip. */
const GENERATED_KEY_RE = /^gw-[A-Za-z0-9_-]{43}$/;
const KEY_ID_RE = /^[0-9a-f]{12}$/;
const DIGEST_RE = /^[0-9a-f]{64}$/;

export const redisKeys = {
  record: (digestHex: string) => `llmgw:key:${digestHex}`,
  keyId: (keyId: string) => `llmgw:key-id:${keyId}`,
  tenantKeys: (tenant: string) => `llmgw:tenant-keys:${tenant}`,
  tenants: 'llmgw:tenants',
} as const;

// ---------------------------------------------------------------------------
// Stored form

const StoredLimitsSchema = z.object({
  rpm: z.number().int().positive().optional(),
  tpm: z.number().int().positive().optional(),
  usdPerDay: z.number().positive().finite().optional(),
  usdPerMonth: z.number().positive().finite().optional(),
});

const jsonField = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'not JSON' });
        return z.NEVER;
      }
    })
    .pipe(schema);

/** Hash fields as written by createKey. Not strict: a newer writer may add fields. */
const StoredKeySchema = z.object({
  v: z.literal('1'),
  tenant: z.string().regex(TENANT_NAME_RE),
  keyId: z.string().regex(KEY_ID_RE),
  name: z.string().optional(),
  createdAt: z.string(),
  expiresAt: z.string().optional(),
  revoked: z.enum(['0', '1']),
  revokedAt: z.string().optional(),
  models: jsonField(z.array(z.string())).optional(),
  limits: jsonField(StoredLimitsSchema).optional(),
});

function parseRecord(fields: Record<string, string>): KeyRecord | string {
  const parsed = StoredKeySchema.safeParse(fields);
  if (!parsed.success) {
    return parsed.error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ');
  }
  const s = parsed.data;
  const record: KeyRecord = { tenant: s.tenant, keyId: s.keyId, createdAt: s.createdAt, revoked: s.revoked === '1' };
  if (s.name !== undefined) record.name = s.name;
  if (s.expiresAt !== undefined) record.expiresAt = s.expiresAt;
  if (s.revokedAt !== undefined) record.revokedAt = s.revokedAt;
  if (s.models !== undefined) record.models = s.models;
  if (s.limits !== undefined) record.limits = cleanLimits(s.limits);
  return record;
}

function cleanLimits(l: Limits): Limits {
  const out: Limits = {};
  if (l.rpm !== undefined) out.rpm = l.rpm;
  if (l.tpm !== undefined) out.tpm = l.tpm;
  if (l.usdPerDay !== undefined) out.usdPerDay = l.usdPerDay;
  if (l.usdPerMonth !== undefined) out.usdPerMonth = l.usdPerMonth;
  return out;
}

/** Why a record does not authenticate at `nowMs`, or undefined when it does. */
export function keyRecordState(record: KeyRecord, nowMs: number): 'revoked' | 'expired' | undefined {
  if (record.revoked) return 'revoked';
  if (record.expiresAt !== undefined) {
    const at = Date.parse(record.expiresAt);
    // An unreadable expiry fails closed.
    if (!Number.isFinite(at) || nowMs >= at) return 'expired';
  }
  return undefined;
}

function toPrincipal(record: KeyRecord): PrincipalWithPolicy {
  const p: PrincipalWithPolicy = { tenant: record.tenant, keyId: record.keyId };
  if (record.models) p.models = new Set(record.models);
  if (record.limits && Object.keys(record.limits).length > 0) p.limits = Object.freeze({ ...record.limits });
  return p;
}

// ---------------------------------------------------------------------------
// The directories

const MESSAGES: RedisConnectionMessages = {
  connected: 'key directory: redis connected',
  reconnected: 'key directory: redis reconnected',
  // Also when the first connect fails.
  lost: 'key directory: redis unavailable; requests with Redis-held keys are refused (503) until it is back',
  connectionError: 'key directory: redis connection error',
  commandFailed: 'key directory: lookup failed (further failures are counted, not logged, until the connection state changes)',
  hung: (n, ms) => `${n} lookups in a row timed out after ${ms} ms`,
};

/**
 * Keys in Redis. Like the response cache's store, it never waits on Redis for longer than the
 * command timeout: while Redis is away, lookups answer 'unavailable' at once (no offline queue, no
 * retries) and the client reconnects in the background.
 */
export function createRedisKeyDirectory(options: RedisKeyDirectoryOptions): RedisKeyDirectory {
  const log = options.log.child({ component: 'key-directory', redis: describeRedisUrl(options.url) });
  const conn = createRedisConnection({ ...options, log, commandTimeoutMs: options.commandTimeoutMs ?? 100, messages: MESSAGES });

  return {
    async lookup(key, nowMs) {
      if (!GENERATED_KEY_RE.test(key)) return undefined;
      if (!(await conn.usable())) return 'unavailable';
      const digest = hashKey(key);
      let fields: Record<string, string>;
      try {
        fields = await conn.command('lookup', (client) => client.hgetall(redisKeys.record(digest)));
      } catch {
        return 'unavailable';
      }

      if (Object.keys(fields).length === 0) return undefined;
      const record = parseRecord(fields);
      if (typeof record === 'string') {
        // Fail closed, loudly: a record we cannot read must not authenticate anyone.
        log.error({ keyId: keyIdOf(digest), problem: record }, 'key directory: malformed key record in Redis; key refused');
        return undefined;
      }
      if (keyRecordState(record, nowMs ?? Date.now()) !== undefined) return undefined;
      return toPrincipal(record);
    },
    healthy: conn.healthy,
    errors: conn.errors,
    latency: conn.latency,
    close: conn.close,
  };
}

// ---------------------------------------------------------------------------
// Administration (the keys CLI)

export interface CreateKeyOptions {
  tenant: string;
  name?: string;
  /** ISO 8601 date or date-time (a bare date is midnight UTC), or a Date; must be in the future. */
  expiresAt?: string | Date;
  models?: readonly string[];
  limits?: Limits;
  /** For tests: the current time. */
  nowMs?: number;
}

const CREATE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('SADD', KEYS[4], ARGV[3])
return 1
`;

const REVOKE_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[1], 'revoked') ~= '1' then
  redis.call('HSET', KEYS[1], 'revoked', '1', 'revokedAt', ARGV[1])
end
return 1
`;

/**
 * Makes a new key ('gw-' + 32 random bytes, base64url) and stores its record. The clear key is in
 * the return value only: show it once, it cannot be recovered.
 */
export async function createKey(redis: Redis, o: CreateKeyOptions): Promise<{ key: string; record: KeyRecord }> {
  const nowMs = o.nowMs ?? Date.now();
  const record = validateNewKey(o, nowMs);

  for (let attempt = 0; attempt < 5; attempt++) {
    const key = KEY_PREFIX + randomBytes(32).toString('base64url');
    const digest = hashKey(key);
    const keyId = keyIdOf(digest);
    const { tenant, ...rest } = record;
    const full: KeyRecord = { tenant, keyId, ...rest };
    const fields: string[] = ['v', '1', 'tenant', full.tenant, 'keyId', keyId, 'createdAt', full.createdAt, 'revoked', '0'];
    if (full.name !== undefined) fields.push('name', full.name);
    if (full.expiresAt !== undefined) fields.push('expiresAt', full.expiresAt);
    if (full.models !== undefined) fields.push('models', JSON.stringify(full.models));
    if (full.limits !== undefined) fields.push('limits', JSON.stringify(full.limits));
    const created = await redis.eval(
      CREATE_SCRIPT,
      4,
      redisKeys.record(digest),
      redisKeys.keyId(keyId),
      redisKeys.tenantKeys(full.tenant),
      redisKeys.tenants,
      digest,
      keyId,
      full.tenant,
      ...fields,
    );
    // 0: the 48-bit key id is taken (astronomically unlikely); draw another key.
    if (created === 1) return { key, record: full };
  }
  throw new Error('could not allocate a unique key id');
}

function validateNewKey(o: CreateKeyOptions, nowMs: number): Omit<KeyRecord, 'keyId'> {
  if (!TENANT_NAME_RE.test(o.tenant)) throw new KeyInputError(`tenant "${o.tenant}" may only use letters, digits, _ . - (max 64)`);
  const record: Omit<KeyRecord, 'keyId'> = { tenant: o.tenant, createdAt: new Date(nowMs).toISOString(), revoked: false };

  if (o.name !== undefined) {
    if (o.name.length === 0 || o.name.length > 200 || /[\u0000-\u001f\u007f]/.test(o.name)) {
      throw new KeyInputError('name must be 1-200 characters without control characters');
    }
    record.name = o.name;
  }

  if (o.expiresAt !== undefined) {
    const at = parseExpiry(o.expiresAt);
    if (at <= nowMs) throw new KeyInputError(`expiry ${new Date(at).toISOString()} is not in the future`);
    record.expiresAt = new Date(at).toISOString();
  }

  if (o.models !== undefined) {
    if (o.models.length === 0) throw new KeyInputError('models: an empty allow-list would refuse every model; leave it out to allow all');
    for (const m of o.models) if (!MODEL_NAME_RE.test(m)) throw new KeyInputError(`models: "${m}" is not a valid model name`);
    record.models = [...new Set(o.models)];
  }

  if (o.limits !== undefined) {
    const limits = cleanLimits(o.limits);
    for (const [k, v] of Object.entries(limits) as [keyof Limits, number][]) {
      if (!Number.isFinite(v) || v <= 0) throw new KeyInputError(`${k} must be a positive number, got ${v}`);
      if ((k === 'rpm' || k === 'tpm') && !Number.isInteger(v)) throw new KeyInputError(`${k} must be a whole number, got ${v}`);
    }
    if (limits.usdPerDay !== undefined && limits.usdPerMonth !== undefined && limits.usdPerDay > limits.usdPerMonth) {
      throw new KeyInputError(`usdPerDay (${limits.usdPerDay}) exceeds usdPerMonth (${limits.usdPerMonth})`);
    }
    if (Object.keys(limits).length > 0) record.limits = limits;
  }
  return record;
}

function parseExpiry(v: string | Date): number {
  if (v instanceof Date) {
    if (!Number.isFinite(v.getTime())) throw new KeyInputError('expiry is not a valid date');
    return v.getTime();
  }
  // A bare date or a date-time with an explicit zone; no locale-dependent formats.
  if (!/^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?$/.test(v)) {
    throw new KeyInputError(`expiry "${v}" must be a date (2027-01-01) or a date-time with zone (2027-01-01T12:00:00Z)`);
  }
  const at = Date.parse(v);
  if (!Number.isFinite(at) || (v.length === 10 && new Date(at).toISOString().slice(0, 10) !== v)) {
    throw new KeyInputError(`expiry "${v}" is not a valid date`);
  }
  return at;
}

/** Key records of one tenant, or of all, oldest first. Never contains a key or its full digest. */
export async function listKeys(redis: Redis, tenant?: string): Promise<KeyRecord[]> {
  const tenants = tenant !== undefined ? [tenant] : (await redis.smembers(redisKeys.tenants)).sort();
  const out: KeyRecord[] = [];
  for (const t of tenants) {
    const ids = (await redis.smembers(redisKeys.tenantKeys(t))).sort();
    if (ids.length === 0) continue;
    const digests = await redis.mget(ids.map((id) => redisKeys.keyId(id)));
    const pipe = redis.pipeline();
    const present = digests.filter((d): d is string => typeof d === 'string' && DIGEST_RE.test(d));
    for (const d of present) pipe.hgetall(redisKeys.record(d));
    const replies = (await pipe.exec()) ?? [];
    replies.forEach(([err, fields], i) => {
      if (err) throw err;
      const f = fields as Record<string, string>;
      if (Object.keys(f).length === 0) return; // dangling index entry
      const record = parseRecord(f);
      if (typeof record === 'string') throw new Error(`key record ${keyIdOf(present[i]!)} is malformed: ${record}`);
      out.push(record);
    });
  }
  return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.keyId.localeCompare(b.keyId));
}

/**
 * Revokes by key id (12 hex digits, as `list` shows), by full digest, or by the clear key itself.
 * True when the key exists (now revoked, or already was); false when there is no such key.
 */
export async function revokeKey(redis: Redis, keyIdOrKey: string, nowMs: number = Date.now()): Promise<boolean> {
  let digest: string | null;
  if (KEY_ID_RE.test(keyIdOrKey)) digest = await redis.get(redisKeys.keyId(keyIdOrKey));
  else if (DIGEST_RE.test(keyIdOrKey)) digest = keyIdOrKey;
  else digest = hashKey(keyIdOrKey);
  if (!digest) return false;
  const done = await redis.eval(REVOKE_SCRIPT, 1, redisKeys.record(digest), new Date(nowMs).toISOString());
  return done === 1;
}
