import { createHash } from 'node:crypto';

/**
 * Fields of an OpenAI chat request that do not change the answer and so are left out of the key.
 * Top-level only. Everything else, including fields this list does not know (new OpenAI
 * parameters, vendor extras such as vLLM's `top_k`), is part of the key: an unknown field can
 * only cost a miss, never serve the wrong answer.
 */
export const IGNORED_FIELDS: readonly string[] = Object.freeze([
  // Replaced by the resolved catalog id, so "auto" and an explicit name that resolve to the same
  // model share entries, and a catalog change (alias now pointing elsewhere) does not.
  'model',
  // Transport only: the stored completion is replayed as JSON or SSE, whichever the caller asked.
  'stream',
  // include_usage / include_obfuscation shape the stream, not the answer; replaySse takes includeUsage.
  'stream_options',
  // End-user identifiers for OpenAI's abuse monitoring (user is the deprecated one). They don't
  // reach the model. The tenant namespaces the key; end users of one tenant share its entries.
  'user',
  'safety_identifier',
  // Routing hints for OpenAI's own prompt cache: latency and price, same answer.
  'prompt_cache_key',
  'prompt_cache_retention',
  // Stored-completions bookkeeping (distillation/evals in OpenAI's dashboard). The answer does not
  // depend on them. Side effect to know about: a cache hit stores nothing at OpenAI, so whoever
  // wires up the cache may want to bypass it for `store: true` if that matters to a tenant.
  'store',
  'metadata',
  // Processing tier (default/flex/priority): latency and price, same model. A hit replays the
  // `service_tier` echoed by the response that was stored.
  'service_tier',
]);

const IGNORED = new Set(IGNORED_FIELDS);

const PREFIX = 'llmgw:cache:v1:';

/**
 * The cache key of a chat request: `llmgw:cache:v1:<tenant>:<sha256 hex>`.
 *
 * The hash covers canonicalJson of the parsed body with the ignored top-level fields dropped and
 * `model` set to the resolved id, so key order, whitespace and number spelling (`1.0`, `1`,
 * `1e0`) in the body as sent do not matter. Top-level `null` values are dropped too: OpenAI
 * treats a null optional parameter as not given (`"stop": null` ≡ no stop). Nested values are
 * kept exactly (array order matters; nulls inside messages are kept).
 *
 * The tenant is a prefix outside the hash, so one tenant's entries can be listed or dropped by
 * prefix; the hash is always the last 64 characters, so a tenant containing ':' stays unambiguous.
 */
export function cacheKey(o: { tenant: string; model: string; request: Record<string, unknown> }): string {
  const req = o.request;
  const top: Record<string, unknown> = {};
  for (const k of Object.keys(req)) {
    const v = req[k];
    if (v === null || v === undefined || IGNORED.has(k)) continue;
    setOwn(top, k, v);
  }
  top.model = o.model;
  return PREFIX + o.tenant + ':' + createHash('sha256').update(canonicalJson(top), 'utf8').digest('hex');
}

/**
 * JSON with no whitespace and the keys of every object in one fixed order whatever order they
 * came in: JavaScript's own property order for an object whose keys were added sorted, i.e.
 * array-index keys ("0", "42") first in numeric order, then the others sorted by UTF-16 code
 * unit. Otherwise exactly JSON.stringify (numbers, string escapes, undefined skipped in objects
 * and null in arrays, non-finite numbers as null). Input is a JSON.parse result.
 *
 * Fast path: copy the value with each object's keys inserted in sorted order and JSON.stringify
 * the copy once, so every string is escaped once, natively. A key then costs about 1.4× hashing
 * the body as it came (JSON.stringify + sha256 with no canonical form).
 * Nesting deeper than MAX_COPY_DEPTH, which JSON.parse accepts but the call stack may not, takes
 * an iterative writer that produces the same text: a key must never throw on a body that parsed.
 */
export function canonicalJson(value: unknown): string {
  let copy: unknown;
  try {
    copy = sortedCopy(value, 0);
  } catch (e) {
    if (e !== TOO_DEEP) throw e;
    return canonicalJsonIterative(value);
  }
  return JSON.stringify(copy) ?? 'null';
}

const MAX_COPY_DEPTH = 200;
const TOO_DEEP = new Error('too deep for the recursive path');

function sortedCopy(v: unknown, depth: number): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (depth > MAX_COPY_DEPTH) throw TOO_DEEP;
  if (Array.isArray(v)) {
    const a = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) a[i] = sortedCopy(v[i], depth + 1);
    return a;
  }
  const src = v as Record<string, unknown>;
  const keys = sortKeys(Object.keys(src));
  const out: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    setOwn(out, k, sortedCopy(src[k], depth + 1));
  }
  return out;
}

/** `o[k] = v`, except that a "__proto__" key (legal in JSON) becomes a property instead of replacing the prototype. */
function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** Sorts in place by UTF-16 code unit (what Array#sort does), by insertion for the small key sets requests have. */
function sortKeys(keys: string[]): string[] {
  if (keys.length > 16) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i]!;
    let j = i - 1;
    if (keys[j]! <= k) continue;
    while (j >= 0 && keys[j]! > k) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = k;
  }
  return keys;
}

/** Keys in the order JavaScript enumerates an object they were added to sorted: array indexes first, numerically. */
function propertyOrder(keys: string[]): string[] {
  sortKeys(keys);
  const indexes = keys.filter(isArrayIndex);
  if (indexes.length === 0) return keys;
  indexes.sort((a, b) => Number(a) - Number(b));
  return indexes.concat(keys.filter((k) => !isArrayIndex(k)));
}

const isArrayIndex = (k: string): boolean => /^(?:0|[1-9][0-9]{0,9})$/.test(k) && Number(k) <= 4294967294;

/** A container being written: an array (keys undefined) or an object (its ordered keys). */
interface Frame {
  value: unknown[] | Record<string, unknown>;
  keys: string[] | undefined;
  next: number;
  wrote: boolean;
}

/** canonicalJson without recursion, for values nested deeper than the stack allows. */
function canonicalJsonIterative(root: unknown): string {
  let out = '';
  const stack: Frame[] = [];
  let value: unknown = root;
  for (;;) {
    // Write `value`: a scalar directly, a container by opening it and pushing a frame.
    if (value !== null && typeof value === 'object') {
      if (Array.isArray(value)) {
        out += '[';
        stack.push({ value, keys: undefined, next: 0, wrote: false });
      } else {
        out += '{';
        const obj = value as Record<string, unknown>;
        stack.push({ value: obj, keys: propertyOrder(Object.keys(obj)), next: 0, wrote: false });
      }
    } else {
      out += JSON.stringify(value) ?? 'null';
    }
    // Find the next value to write, closing finished containers on the way.
    let found = false;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.keys === undefined) {
        const arr = top.value as unknown[];
        if (top.next < arr.length) {
          if (top.wrote) out += ',';
          top.wrote = true;
          value = arr[top.next++];
          found = true;
          break;
        }
        out += ']';
      } else {
        const obj = top.value as Record<string, unknown>;
        while (top.next < top.keys.length) {
          const k = top.keys[top.next++]!;
          const v = obj[k];
          if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
          if (top.wrote) out += ',';
          top.wrote = true;
          out += JSON.stringify(k) + ':';
          value = v;
          found = true;
          break;
        }
        if (found) break;
        out += '}';
      }
      stack.pop();
    }
    if (!found) return out;
  }
}
