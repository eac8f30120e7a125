import type { Catalog, Model } from '../../catalog/load.js';

/**
 * A catalog model in OpenAI's `model` object shape, with the gateway's own
 * `context_window` and `pricing` (USD per 1M tokens) added for callers that route on them.
 */
export function modelObject(m: Model) {
  return {
    id: m.id,
    object: 'model',
    created: 0,
    owned_by: m.provider.id,
    context_window: m.contextWindow,
    max_output_tokens: m.maxOutputTokens,
    pricing: {
      input_per_million: m.pricing.inputPerMTok,
      output_per_million: m.pricing.outputPerMTok,
      ...(m.pricing.cachedInputPerMTok !== undefined ? { cached_input_per_million: m.pricing.cachedInputPerMTok } : {}),
      currency: 'USD',
    },
    capabilities: [...m.capabilities],
    tier: m.tier,
  };
}

export function modelsListBody(catalog: Catalog): Buffer {
  return Buffer.from(JSON.stringify({ object: 'list', data: catalog.models.map(modelObject) }), 'utf8');
}
