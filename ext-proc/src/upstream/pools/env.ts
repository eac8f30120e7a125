import { z } from 'zod';
import { ConfigError } from '../../config/env.js';
import { endpointAddress, EndpointAddressError } from './address.js';
import { EndpointPool, type PoolKind, type PoolOptions } from './pool.js';

/** The environment variables that define pools, and the pool each one makes (named as the catalog provider it serves). */
export const POOL_SOURCES: ReadonlyArray<{ variable: string; name: string; kind: PoolKind }> = [
  { variable: 'OLLAMA_URLS', name: 'ollama', kind: 'ollama' },
  { variable: 'VLLM_URLS', name: 'vllm', kind: 'vllm' },
];

const UrlList = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  );

/**
 * The 'ollama' pool from OLLAMA_URLS and the 'vllm' pool from VLLM_URLS (comma-separated URLs),
 * each only when its variable lists something. `o` sets the tuning options of both. Pools are
 * returned stopped: call `start()` once the process is ready to poll.
 */
export function poolsFromEnv(env: NodeJS.ProcessEnv, o: Partial<PoolOptions> = {}): EndpointPool[] {
  const pools: EndpointPool[] = [];
  for (const s of POOL_SOURCES) {
    const urls = UrlList.parse(env[s.variable]);
    if (urls.length === 0) continue;
    const seen = new Set<string>();
    for (const url of urls) {
      try {
        const { key } = endpointAddress(url);
        if (seen.has(key)) throw new EndpointAddressError(`'${url}' names ${key} a second time`);
        seen.add(key);
      } catch (err) {
        if (err instanceof EndpointAddressError) throw new ConfigError(`${s.variable}: ${err.message}`);
        throw err;
      }
    }
    pools.push(new EndpointPool({ ...o, name: s.name, kind: s.kind, endpoints: urls.map((url) => ({ url })) }));
  }
  return pools;
}
