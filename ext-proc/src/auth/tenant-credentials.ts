import { Redis } from 'ioredis';
import type { Logger } from '../log/logger.js';
import { redisClientOptions } from '../store/redis.js';
import { readCredential, type MasterKey } from './credentials.js';

export type CredentialLookup = { key: string } | 'none' | 'unavailable';

/**
 * Bring-your-own-key: a tenant's own provider credential (stored encrypted by
 * `npm run keys -- set-credential`) replaces the platform's for that tenant's calls.
 */
export class TenantCredentials {
  private readonly redis: Redis;
  private errors = 0;

  constructor(
    url: string,
    private readonly masterKey: MasterKey,
    private readonly log: Logger,
  ) {
    this.redis = new Redis(url, redisClientOptions(100));
    this.redis.on('error', () => undefined);
  }

  async lookup(tenant: string, provider: string): Promise<CredentialLookup> {
    try {
      const key = await readCredential(this.redis, tenant, provider, this.masterKey);
      return key ? { key } : 'none';
    } catch (err) {
      if (this.errors++ % 100 === 0) {
        this.log.warn({ tenant, provider, err: err instanceof Error ? err.message : String(err) }, 'tenant credential lookup failed');
      }
      return 'unavailable';
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
