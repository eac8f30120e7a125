/*
 * Canonical tool call arguments are JSON text; Ollama carries them as a JSON object. These two
 * helpers are the only place that crosses between the two.
 */

export type ArgumentsObject = Record<string, unknown>;

/**
 * The object encoded by `text`, or undefined when it is not a JSON object. Blank text counts as
 * `{}`: some backends stream nothing at all for a call without parameters.
 */
export function argumentsObject(text: string): ArgumentsObject | undefined {
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as ArgumentsObject) : undefined;
}

export function argumentsText(args: ArgumentsObject | null | undefined): string {
  return JSON.stringify(args ?? {});
}
