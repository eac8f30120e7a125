import type { Limits } from '../tenants/policy.js';

/** Who a call is billed to: a tenant, and the key it used. */
export interface Principal {
  tenant: string;
  /** Short, non-secret identifier of the key (hash prefix) for logs and metrics. */
  keyId: string;
}

/** A principal with its key's own model allow-list and limits (keys made with `npm run keys`). */
export interface PrincipalWithPolicy extends Principal {
  models?: ReadonlySet<string>;
  limits?: Limits;
}
