/**
 * The stored form of a gateway key in Redis, shared by the request path's lookup
 * (key-directory.ts) and the administration functions of the keys CLI (key-admin.ts).
 *
 * Layout (the clear key is never stored, and never logged):
 *   llmgw:key:<sha256 hex of the key>   HASH  v, tenant, keyId, name?, createdAt, expiresAt?,
 *                                              revoked ("0"/"1"), revokedAt?, models? (JSON), limits? (JSON)
 *   llmgw:key-id:<keyId>                STRING the sha256 hex (keyId = its first 12 hex digits), to revoke by id
 *   llmgw:tenant-keys:<tenant>          SET    key ids of the tenant, for listing
 *   llmgw:tenants                       SET    tenants that have keys, for listing them all
 */
import { z } from 'zod';
import type { Limits } from '../tenants/policy.js';
import { TENANT_NAME_RE } from './keys.js';
import type { PrincipalWithPolicy } from './principal.js';

export type { Limits } from '../tenants/policy.js';

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

export const KEY_PREFIX = 'gw-';
/** Only keys of this shape can be in Redis (createKey makes them); anything else is unknown without a round trip. */
export const GENERATED_KEY_RE = /^gw-[A-Za-z0-9_-]{43}$/;
export const KEY_ID_RE = /^[0-9a-f]{12}$/;
export const DIGEST_RE = /^[0-9a-f]{64}$/;

export const redisKeys = {
  record: (digestHex: string) => `llmgw:key:${digestHex}`,
  keyId: (keyId: string) => `llmgw:key-id:${keyId}`,
  tenantKeys: (tenant: string) => `llmgw:tenant-keys:${tenant}`,
  tenants: 'llmgw:tenants',
} as const;

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

export function parseRecord(fields: Record<string, string>): KeyRecord | string {
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

export function cleanLimits(l: Limits): Limits {
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

export function toPrincipal(record: KeyRecord): PrincipalWithPolicy {
  const p: PrincipalWithPolicy = { tenant: record.tenant, keyId: record.keyId };
  if (record.models) p.models = new Set(record.models);
  if (record.limits && Object.keys(record.limits).length > 0) p.limits = Object.freeze({ ...record.limits });
  return p;
}
