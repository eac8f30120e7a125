/** Reading a source document: its format told from its shape unless named, then its reader. */
import { readLiteLlm } from './litellm.js';
import { readOpenRouter } from './openrouter.js';
import { SourceError, type SourceFormat, type SourceReadout } from './source.js';

/** OpenRouter's responses have `data: [...]`; LiteLLM's file is a map of model names. */
export function detectFormat(json: unknown): SourceFormat {
  return json !== null && typeof json === 'object' && Array.isArray((json as { data?: unknown }).data) ? 'openrouter' : 'litellm';
}

/**
 * Reads a parsed source document. `providers` are the catalog's provider ids: LiteLLM entries of
 * other providers are left out (OpenRouter's list is all one provider, `openrouter`).
 */
export function readSource(json: unknown, providers: ReadonlySet<string>, format: SourceFormat = detectFormat(json)): SourceReadout {
  const read = format === 'openrouter' ? readOpenRouter(json) : readLiteLlm(json, providers);
  return { format, ...read };
}

/** Parses the text of a source document; a syntax error names the source. */
export function parseSourceText(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new SourceError(`${where}: not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}
