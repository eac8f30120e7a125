import type { Catalog, Model } from '../catalog/load.js';
import { CHAIN_CLUSTER_PREFIX } from '../contract.js';

/*
 * Fallback chains: a model and the models tried after it. Envoy retries a chain's attempts
 * itself (previous priorities, previous hosts), and an upstream ext_proc filter translates each
 * attempt for the backend Envoy picked. To leave out a backend (no credential, not allowed for
 * the tenant, cooling down after 429s), the processor picks a cluster holding only the usable
 * members: Envoy gets one cluster per non-empty subset of a chain, named by a bit mask over the
 * chain's positions. Renderer and processor both derive names from the catalog, so they agree.
 */

export interface Chain {
  /** The model callers name; position 0. */
  head: Model;
  /** head, then its fallbacks in order (ids resolved against the full catalog). */
  members: readonly Model[];
}

export function chainOf(catalog: Catalog, model: Model): Chain | undefined {
  if (model.fallbacks.length === 0) return undefined;
  const members = [model];
  for (const id of model.fallbacks) {
    const m = catalog.find(id);
    if (m) members.push(m);
  }
  return { head: model, members };
}

export function allChains(catalog: Catalog): Chain[] {
  return catalog.models.map((m) => chainOf(catalog, m)).filter((c): c is Chain => c !== undefined);
}

/** Cluster names carry the model id; Envoy is lenient, stats names are not: keep it plain. */
function slug(id: string): string {
  return id.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** Name of the cluster serving the chain members whose positions are set in `mask`. */
export function chainClusterName(head: Model, mask: number): string {
  return `${CHAIN_CLUSTER_PREFIX}${slug(head.id)}-${mask.toString(16)}`;
}

/** Every non-empty subset of a chain, as (mask, members in chain order). */
export function chainSubsets(chain: Chain): Array<{ mask: number; members: Model[] }> {
  const out: Array<{ mask: number; members: Model[] }> = [];
  for (let mask = 1; mask < 1 << chain.members.length; mask++) {
    out.push({ mask, members: chain.members.filter((_, i) => (mask & (1 << i)) !== 0) });
  }
  return out;
}

/** The mask of the members `usable` keeps. */
export function maskOf(chain: Chain, usable: (m: Model, position: number) => boolean): number {
  let mask = 0;
  chain.members.forEach((m, i) => {
    if (usable(m, i)) mask |= 1 << i;
  });
  return mask;
}
