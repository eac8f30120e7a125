/**
 * A model for GET /v1/models. `displayName` and `createdAt` (RFC 3339) default to the id and the
 * Unix epoch: the gateway's catalog knows neither, and the fields are required in this format.
 */
export interface AnthropicModelEntry {
  id: string;
  displayName?: string;
  createdAt?: string;
}

export interface AnthropicModelsPage {
  data: Array<{ type: 'model'; id: string; display_name: string; created_at: string }>;
  has_more: boolean;
  first_id: string | null;
  last_id: string | null;
}

const EPOCH = '1970-01-01T00:00:00Z';

/** The whole list as one page, in Anthropic's list shape. */
export function anthropicModelsPage(models: readonly AnthropicModelEntry[]): AnthropicModelsPage {
  return {
    data: models.map((m) => ({ type: 'model', id: m.id, display_name: m.displayName ?? m.id, created_at: m.createdAt ?? EPOCH })),
    has_more: false,
    first_id: models[0]?.id ?? null,
    last_id: models[models.length - 1]?.id ?? null,
  };
}

export function anthropicModelsBody(models: readonly AnthropicModelEntry[]): Buffer {
  return Buffer.from(JSON.stringify(anthropicModelsPage(models)), 'utf8');
}
