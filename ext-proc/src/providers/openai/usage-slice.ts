import { framedAsObject } from '../canonical/stream-check.js';

/**
 * Finds the top-level `"usage": {...}` object in a chat completion body and parses only that,
 * so metering a large answer doesn't parse the whole answer. Falls back to a full parse whenever
 * the body is not the usual shape.
 */
export function extractUsageObject(body: string): unknown {
  const slice = usageSlice(body);
  if (slice !== undefined) {
    try {
      return JSON.parse(slice);
    } catch {
      // fall through to the full parse
    }
  }
  return (JSON.parse(body) as { usage?: unknown }).usage;
}

function usageSlice(body: string): string | undefined {
  const key = body.lastIndexOf('"usage"');
  // Inside a JSON string the quotes would be escaped: then this is text, not the key.
  if (key <= 0 || body[key - 1] === '\\') return undefined;
  let i = key + 7;
  while (i < body.length && ' \t\r\n'.includes(body[i]!)) i++;
  if (body[i] !== ':') return undefined;
  i++;
  while (i < body.length && ' \t\r\n'.includes(body[i]!)) i++;
  if (body[i] !== '{') return undefined;
  const end = closingBracket(body, i + 1);
  return end >= 0 && topLevelCloses(body, end + 1) ? body.slice(i, end + 1) : undefined;
}

/**
 * Whether the value ending just before `from` is a field of the top-level object: what follows
 * it closes exactly one object, at the very end. The last `"usage"` key is usually the answer's
 * own, but a later field may hold one too (a router's metadata, an object of tool arguments).
 * Usage comes last or nearly so, so this reads only a short tail.
 */
function topLevelCloses(body: string, from: number): boolean {
  const end = closingBracket(body, from);
  return end >= 0 && body.slice(end + 1).trim() === '';
}

/**
 * Index of the bracket that closes the object or array `from` is inside (strings and escapes
 * skipped), or -1 when the body ends first.
 */
function closingBracket(body: string, from: number): number {
  let depth = 0;
  let inString = false;
  for (let j = from; j < body.length; j++) {
    const c = body.charCodeAt(j);
    if (inString) {
      if (c === 92)
        j++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) depth++;
    else if ((c === 125 || c === 93) && --depth < 0) return j;
  }
  return -1;
}

/**
 * The usage of a chat completion body, read cheaply, with the body checked on the way: it must be
 * framed as a JSON object and its usage object slice out whole (which reads its tail up to the
 * closing brace); where the slice fails (no usage, an unusual shape) the body is parsed whole and
 * must be an object with `choices`. Undefined when the body is not a chat completion.
 */
export function checkedUsageObject(body: string): { usage: unknown } | undefined {
  if (!framedAsObject(body)) return undefined;
  const slice = usageSlice(body);
  if (slice !== undefined) {
    try {
      return { usage: JSON.parse(slice) };
    } catch {
      // parsed whole below
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const o = parsed as { choices?: unknown; usage?: unknown } | null;
  return typeof o === 'object' && o !== null && Array.isArray(o.choices) ? { usage: o.usage } : undefined;
}
