import type { KeyStore } from './keys.js';
import type { KeyDirectory } from './key-directory.js';
import type { PrincipalWithPolicy } from './principal.js';

export type AuthResult = PrincipalWithPolicy | undefined | 'unavailable';

/**
 * Keys seeded from GATEWAY_KEYS answer synchronously (no I/O on the hot path); keys managed in
 * Redis (`npm run keys`) are read from Redis on every call, so a revocation reaches every replica
 * at its next request.
 */
export class Authenticator {
  constructor(
    private readonly seeded: KeyStore,
    private readonly directory?: KeyDirectory,
  ) {}

  authenticate(key: string): AuthResult | Promise<AuthResult> {
    const p = this.seeded.lookup(key);
    if (p || !this.directory) return p;
    return this.directory.lookup(key);
  }
}
