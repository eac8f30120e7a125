import type { Catalog, Model, Provider } from '../catalog/load.js';
import { GatewayError } from '../errors.js';

/** Where one call goes; the backend's wire format decides path and auth headers. */
export interface UpstreamTarget {
  model: Model;
  provider: Provider;
  cluster: string;
  authority: string;
  /** Undefined for keyless backends. */
  credential: string | undefined;
}

/**
 * Providers usable with this environment, keyed by provider id: the credential for keyed ones,
 * `undefined` for keyless ones whose `enabled_env` is set. Providers missing either are left out.
 */
export function credentialsFromEnv(catalog: Catalog, env: NodeJS.ProcessEnv): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  for (const p of catalog.providers.values()) {
    if (p.apiKeyEnv) {
      const key = env[p.apiKeyEnv];
      if (key) out.set(p.id, key);
    } else if (p.enabledEnv && env[p.enabledEnv]) {
      out.set(p.id, undefined);
    }
  }
  return out;
}

export class UpstreamResolver {
  constructor(
    private readonly catalog: Catalog,
    private readonly credentials: ReadonlyMap<string, string | undefined>,
  ) {}

  /** Resolves a model name as callers send it; 404 in the caller's terms when unknown. */
  model(name: string): Model {
    const m = this.catalog.find(name);
    if (!m) {
      throw new GatewayError('not_found', `The model \`${name}\` does not exist or you do not have access to it.`, {
        param: 'model',
        code: 'model_not_found',
      });
    }
    return m;
  }

  chatTarget(model: Model): UpstreamTarget {
    const provider = model.provider;
    if (!this.credentials.has(provider.id)) {
      // Catalog filtering at start keeps this from happening; guard against a config race anyway.
      throw new GatewayError('unavailable', `No credential is configured for provider ${provider.id}.`, { code: 'provider_not_configured' });
    }
    return { model, provider, cluster: provider.cluster, authority: provider.host, credential: this.credentials.get(provider.id) };
  }
}
