/**
 * Administration of the gateway keys in Redis, for the keys CLI (`npm run keys`): create, list,
 * revoke. The request path never imports this; it reads keys through key-directory.ts.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { MODEL_NAME_RE } from '../catalog/schema.js';
import type { Limits } from '../tenants/policy.js';
import { hashKey, keyIdOf, TENANT_NAME_RE } from './keys.js';
import { cleanLimits, DIGEST_RE, KEY_ID_RE, KEY_PREFIX, parseRecord, redisKeys, type KeyRecord } from './key-record.js';

export type { Limits } from '../tenants/policy.js';
export type { KeyRecord } from './key-record.js';

export class KeyInputError extends Error {
  override name = 'KeyInputError';
}

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
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
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
