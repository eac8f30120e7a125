/*
 * JSON.parse takes any nesting (V8 parses iteratively), but much of what runs on a parsed body
 * recurses: JSON.stringify when a body is re-serialised for a backend, Gemini's key renaming and
 * Schema conversion, and any walk added later. Past a few thousand levels those exhaust the call
 * stack, so a body's nesting is bounded once, right after it is parsed, and everything downstream
 * may recurse freely.
 */

/**
 * Deepest nesting of objects and arrays a request may have; the body itself is level 1. Real
 * requests stay far below it: a tool schema 20 objects deep sits at about level 45 of its body
 * (`tools[0].function.parameters`, then `properties.<name>` per level), and the recursive code
 * after the check needs well under a thousand levels of stack.
 */
export const MAX_JSON_DEPTH = 100;

/**
 * Whether `value` (a JSON.parse result) nests objects and arrays more than `limit` levels deep.
 * Iterative, so it cannot overflow itself, and it stops at the first container past the limit.
 * It touches every container once and no string, so its cost is small next to JSON.parse's.
 */
export function nestedDeeperThan(value: unknown, limit: number = MAX_JSON_DEPTH): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const pending: object[] = [value];
  const depths: number[] = [1];
  while (pending.length > 0) {
    const node = pending.pop()!;
    const depth = depths.pop()!;
    if (depth > limit) return true;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const child: unknown = node[i];
        if (typeof child === 'object' && child !== null) {
          pending.push(child);
          depths.push(depth + 1);
        }
      }
    } else {
      const record = node as Record<string, unknown>;
      for (const key in record) {
        const child = record[key];
        if (typeof child === 'object' && child !== null) {
          pending.push(child);
          depths.push(depth + 1);
        }
      }
    }
  }
  return false;
}

/** The message every API's 400 carries for an over-deep body (or embedded JSON text). */
export function tooDeepMessage(what: string): string {
  return `${what} is nested too deeply: JSON objects and arrays may nest at most ${MAX_JSON_DEPTH} levels.`;
}
