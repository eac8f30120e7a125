import { performance } from 'node:perf_hooks';
import type { Logger } from '../log/logger.js';
import { createRedisConnection, describeRedisUrl, type RedisConnection, type RedisConnectionMessages } from '../store/redis-connection.js';
import { CredentialError, readCredential, type MasterKey } from './credentials.js';

export type CredentialLookup = { key: string } | 'none' | 'unavailable';

const MESSAGES: RedisConnectionMessages = {
  connected: 'tenant credentials: redis connected',
  reconnected: 'tenant credentials: redis reconnected',
  // Also when the first connect fails.
  lost: "tenant credentials: redis unavailable; tenants' own provider credentials are not used until it is back",
  connectionError: 'tenant credentials: redis connection error',
  // No commandFailed: failed lookups are logged by `lookup` (one in 100).
  hung: (n, ms) => `${n} credential lookups in a row timed out after ${ms} ms`,
};

/**
 * Bring-your-own-key: a tenant's own provider credential (stored encrypted by
 * `npm run keys -- set-credential`) replaces the platform's for that tenant's calls.
 */
export class TenantCredentials {
  private readonly conn: RedisConnection;
  private errors = 0;

  constructor(
    url: string,
    private readonly masterKey: MasterKey,
    private readonly log: Logger,
  ) {
    const connLog = log.child({ component: 'tenant-credentials', redis: describeRedisUrl(url) });
    this.conn = createRedisConnection({ url, log: connLog, commandTimeoutMs: 100, messages: MESSAGES });
  }

  async lookup(tenant: string, provider: string): Promise<CredentialLookup> {
    // Not connected, or a hung connection being given up: no read, no wait.
    if (!(await this.conn.usable())) return this.unavailable(tenant, provider, this.conn.lastError() ?? 'not connected');
    const startedAt = performance.now();
    try {
      const key = await readCredential(this.conn.client, tenant, provider, this.masterKey);
      this.conn.succeeded(startedAt);
      return key ? { key } : 'none';
    } catch (err) {
      // A credential that cannot be decrypted says nothing about the connection.
      if (!(err instanceof CredentialError)) this.conn.failed('lookup', err);
      return this.unavailable(tenant, provider, err instanceof Error ? err.message : String(err));
    }
  }

  private unavailable(tenant: string, provider: string, err: string): 'unavailable' {
    if (this.errors++ % 100 === 0) this.log.warn({ tenant, provider, err }, 'tenant credential lookup failed');
    return 'unavailable';
  }

  async close(): Promise<void> {
    await this.conn.close();
  }
}
