import { nestedDeeperThan } from '../../util/json-depth.js';

/*
 * Canonical tool call arguments are JSON text; Ollama carries them as a JSON object. These two
 * helpers are the only place that crosses between the two.
 */

export type ArgumentsObject = Record<string, unknown>;

/**
 * The object encoded by `text`, or undefined when it is not a JSON object. Blank text counts as
 * `{}`: some backends stream nothing at all for a call without parameters. An object nested
 * deeper than a request body may be is not one either: it would overflow JSON.stringify later.
 */
export function argumentsObject(text: string): ArgumentsObject | undefined {
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || nestedDeeperThan(parsed)) return undefined;
  return parsed as ArgumentsObject;
}

export function argumentsText(args: ArgumentsObject | null | undefined): string {
  return JSON.stringify(args ?? {});
}
