import type { Catalog, Provider } from '../ext-proc/src/catalog/load.js';
import { allChains, chainClusterName, chainSubsets } from '../ext-proc/src/fallback/chains.js';
import type { ChainCluster } from './bootstrap.js';

/**
 * Envoy clusters for every fallback chain in the catalog: one per non-empty subset of each chain
 * (the processor picks the subset that leaves out unusable members), each endpoint at the
 * address of the member's provider.
 */
export function chainClusters(catalog: Catalog, addressOf: (p: Provider) => { host: string; port: number; tls: boolean }): ChainCluster[] {
  const out: ChainCluster[] = [];
  for (const chain of allChains(catalog)) {
    for (const { mask, members } of chainSubsets(chain)) {
      out.push({ name: chainClusterName(chain.head, mask), endpoints: members.map((m) => ({ ...addressOf(m.provider), backend: m.id })) });
    }
  }
  return out;
}
