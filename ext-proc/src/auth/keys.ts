import crypto from 'node:crypto';
import type { Principal } from './principal.js';

export type { Principal } from './principal.js';

export class KeyConfigError extends Error {}

/** Tenant names: what GATEWAY_KEYS, the key directory in Redis and tenant policies accept. */
export const TENANT_NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** Hex SHA-256 of a gateway key: the only form in which a key is ever kept (memory or Redis). */
export function hashKey(key: string): string {
  return crypto.hash('sha256', key, 'hex');
}

/** The non-secret key id derived from a key's digest (first 12 hex digits). */
export function keyIdOf(digestHex: string): string {
  return digestHex.slice(0, 12);
}

/**
 * Gateway keys, held only as SHA-256 digests: lookups hash the presented key, so the clear
 * keys never sit in memory after start and a lookup's timing says nothing about their contents.
 */
export class KeyStore {
  private readonly byHash = new Map<string, Principal>();

  /** Returns false when the key is already bound (to any tenant). */
  add(tenant: string, key: string): boolean {
    const h = hashKey(key);
    if (this.byHash.has(h)) return false;
    this.byHash.set(h, { tenant, keyId: keyIdOf(h) });
    return true;
  }

  lookup(key: string): Principal | undefined {
    return this.byHash.get(hashKey(key));
  }

  get size(): number {
    return this.byHash.size;
  }
}

/** Parses `GATEWAY_KEYS="tenant:key,tenant2:key2"`. */
export function parseGatewayKeys(spec: string): KeyStore {
  const store = new KeyStore();
  for (const [i, raw] of spec.split(',').entries()) {
    const entry = raw.trim();
    if (!entry) continue;
    const sep = entry.indexOf(':');
    const tenant = entry.slice(0, sep).trim();
    const key = entry.slice(sep + 1).trim();
    if (sep <= 0 || !key) throw new KeyConfigError(`GATEWAY_KEYS entry ${i + 1} must look like tenant:key`);
    if (!TENANT_NAME_RE.test(tenant)) {
      throw new KeyConfigError(`GATEWAY_KEYS entry ${i + 1}: tenant "${tenant}" may only use letters, digits, _ . - (max 64)`);
    }
    if (key.length < 8) throw new KeyConfigError(`GATEWAY_KEYS entry ${i + 1} (tenant ${tenant}): key must be at least 8 characters`);
    // One key, one tenant: a silent last-wins would bill one tenant's calls to another.
    if (!store.add(tenant, key)) throw new KeyConfigError(`GATEWAY_KEYS entry ${i + 1} (tenant ${tenant}): this key is already given to a tenant`);
  }
  return store;
}

/**
 * Finds the gateway key where each API's official SDK puts it: `Authorization: Bearer` (OpenAI),
 * `x-api-key` (Anthropic), `x-goog-api-key` or `?key=` (Gemini).
 */
export function extractKey(headers: Record<string, string>, query: URLSearchParams | undefined): string | undefined {
  const auth = headers.authorization;
  if (auth) {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m?.[1]) return m[1].trim();
  }
  return headers['x-api-key'] || headers['x-goog-api-key'] || query?.get('key') || undefined;
}
