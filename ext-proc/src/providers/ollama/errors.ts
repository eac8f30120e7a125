import type { GatewayError } from '../../errors.js';
import type { ParsedProviderError } from '../canonical/format.js';

/*
 * Ollama's error body is `{"error": "<message>"}`, whatever the status; the Ollama clients
 * raise the message as is. There is no error type or parameter field.
 */

export function renderOllamaError(err: GatewayError): string {
  return JSON.stringify({ error: err.message });
}

// Enough of a plain-text error page to log it, not a whole HTML document.
const MAX_TEXT_MESSAGE = 500;

/**
 * Reads an Ollama error body. Also takes plain text: Ollama answers an unknown route with a
 * bare `404 page not found`, and proxies in front of it answer in text too.
 */
export function parseOllamaError(body: string): ParsedProviderError | undefined {
  const text = body.trim();
  if (text === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { message: text.slice(0, MAX_TEXT_MESSAGE) };
  }
  const error = (parsed as { error?: unknown } | null)?.error;
  if (typeof error === 'string') return { message: error };
  // Some proxies in front of Ollama nest the message OpenAI-style.
  const nested = (error as { message?: unknown } | null | undefined)?.message;
  if (typeof nested === 'string') return { message: nested };
  return undefined;
}
