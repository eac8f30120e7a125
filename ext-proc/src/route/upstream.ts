import type { Catalog, Model, Provider } from '../catalog/load.js';
import { GatewayError } from '../errors.js';

/** Where one call goes and how it is presented there. */
export interface UpstreamTarget {
  model: Model;
  provider: Provider;
  cluster: string;
  path: string;
  authority: string;
  headers: Array<[string, string]>;
}

/** Provider credentials from the environment, keyed by provider id (only those present). */
export function credentialsFromEnv(catalog: Catalog, env: NodeJS.ProcessEnv): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of catalog.providers.values()) {
    const key = env[p.apiKeyEnv];
    if (key) out.set(p.id, key);
  }
  return out;
}

export class UpstreamResolver {
  constructor(
    private readonly catalog: Catalog,
    private readonly credentials: ReadonlyMap<string, string>,
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
    const key = this.credentials.get(provider.id);
    if (!key) {
      // Catalog filtering at start keeps this from happening; guard against a config race anyway.
      throw new GatewayError('unavailable', `No credential is configured for provider ${provider.id}.`, { code: 'provider_not_configured' });
    }
    return {
      model,
      provider,
      cluster: provider.cluster,
      path: `${provider.basePath}/chat/completions`,
      authority: provider.host,
      headers: [['authorization', `Bearer ${key}`]],
    };
  }
}
