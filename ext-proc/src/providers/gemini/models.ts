/** What the model list needs to know of a catalog model. */
export interface GeminiListedModel {
  id: string;
  contextWindow: number;
  maxOutputTokens: number;
}

/**
 * A model in the shape of Gemini's `Model` resource. The gateway serves generateContent (and
 * its streaming twin, which Gemini does not list separately) for every model it lists.
 */
export function geminiModel(m: GeminiListedModel) {
  return {
    name: `models/${m.id}`,
    displayName: m.id,
    inputTokenLimit: m.contextWindow,
    outputTokenLimit: m.maxOutputTokens,
    supportedGenerationMethods: ['generateContent', 'countTokens'],
  };
}

/** The body of `GET /v1beta/models`: every model on one page, so no nextPageToken. */
export function geminiModelsBody(models: readonly GeminiListedModel[]): Buffer {
  return Buffer.from(JSON.stringify({ models: models.map(geminiModel) }), 'utf8');
}
