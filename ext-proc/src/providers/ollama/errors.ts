import type { GatewayError } from '../../errors.js';
import type { ParsedProviderError } from '../canonical/format.js';

/*
 * Ollama's error body is `{"error": "<message>"}`, whatever the status; the Ollama clients
 * raise the message as is. There is no error type or parameter field.
 */

export function renderOllamaError(err: GatewayError): string {
  return JSON.stringify({ error: err.message });
}

/**
 * Reads an Ollama error body: JSON `{"error": "<message>"}` (some proxies in front of Ollama nest
 * the message OpenAI-style). Anything else, plain text or an HTML page (a proxy's, or Ollama's
 * bare `404 page not found` for an unknown route), is not Ollama's own error and is undefined:
 * the gateway renders it in the caller's API rather than passing it on as if it were.
 */
export function parseOllamaError(body: string): ParsedProviderError | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const error = (parsed as { error?: unknown } | null)?.error;
  if (typeof error === 'string') return { message: error };
  const nested = (error as { message?: unknown } | null | undefined)?.message;
  if (typeof nested === 'string') return { message: nested };
  return undefined;
}
