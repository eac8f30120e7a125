import { createHash } from 'node:crypto';
import type { FormatId } from '../providers/canonical/types.js';
import { camelKey } from '../providers/gemini/normalize.js';

/*
 * Per caller API, the top-level request fields that do not change the answer and so are left
 * out of the key. Top-level only. Everything else, including fields these lists do not know (new
 * API parameters, vendor extras such as vLLM's `top_k`), is part of the key: an unknown field can
 * only cost a miss, never serve the wrong answer.
 *
 * `model` is in every list because the key carries the resolved catalog id instead, so "auto"
 * and an explicit name that resolve to the same model share entries, and a catalog change
 * (an alias now pointing elsewhere) does not.
 */

/** OpenAI Chat Completions. */
export const IGNORED_FIELDS: readonly string[] = Object.freeze([
  'model',
  // Transport only: the stored answer is replayed as JSON or SSE, whichever the caller asked.
  'stream',
  // include_usage / include_obfuscation shape the stream, not the answer; replay takes includeUsage.
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

/** Anthropic Messages (`POST /v1/messages`). */
export const ANTHROPIC_IGNORED_FIELDS: readonly string[] = Object.freeze([
  'model',
  // Transport only, as for OpenAI.
  'stream',
  // `metadata.user_id`: an opaque end-user id for Anthropic's abuse detection; never shown to the model.
  'metadata',
  // Priority or standard capacity: latency and availability, same model.
  'service_tier',
  // Top-level prompt-caching marker (Anthropic places the breakpoint itself): price and latency only.
  // Block-level `cache_control` inside system/messages/tools is nested and stays in the key.
  'cache_control',
  // Region the inference runs in (data residency): same model, same answer; a hit runs no inference.
  'inference_geo',
]);

/**
 * Gemini `generateContent` / `streamGenerateContent`. The model and streaming are in the URL,
 * not the body, so stream and non-stream calls share entries without ignoring anything for it.
 * `safetySettings` stays in the key: its thresholds decide whether an answer is blocked.
 * Google reads both `snake_case` and `camelCase` names, so names are compared in camelCase.
 */
export const GEMINI_IGNORED_FIELDS: readonly string[] = Object.freeze([
  // A body may repeat the model the URL names; the resolved id replaces both.
  'model',
  // Standard/flex/priority processing: latency and price, same model (like OpenAI's service_tier).
  'serviceTier',
]);

/** Ollama `POST /api/chat`. */
export const OLLAMA_IGNORED_FIELDS: readonly string[] = Object.freeze([
  'model',
  // Transport only (absent means true in Ollama; either way the same answer).
  'stream',
  // How long the host keeps the model loaded afterwards: residency, not the answer.
  'keep_alive',
]);

/** The ignored top-level fields of each caller API. */
export const IGNORED_FIELDS_BY_FORMAT: Readonly<Record<FormatId, readonly string[]>> = Object.freeze({
  openai: IGNORED_FIELDS,
  anthropic: ANTHROPIC_IGNORED_FIELDS,
  gemini: GEMINI_IGNORED_FIELDS,
  ollama: OLLAMA_IGNORED_FIELDS,
});

const IGNORED: Readonly<Record<FormatId, ReadonlySet<string>>> = {
  openai: new Set(IGNORED_FIELDS),
  anthropic: new Set(ANTHROPIC_IGNORED_FIELDS),
  gemini: new Set(GEMINI_IGNORED_FIELDS),
  ollama: new Set(OLLAMA_IGNORED_FIELDS),
};

/** v2: the caller API joined the hash and entries became versioned envelopes (entry.ts). */
export const KEY_PREFIX = 'llmgw:cache:v2:';

/**
 * The cache key of a chat request: `llmgw:cache:v2:<tenant>:<sha256 hex>`.
 *
 * `format` is the caller's API and `request` its parsed JSON body. The hash covers the API id and
 * canonicalJson of the body with that API's ignored top-level fields dropped and `model` set to
 * the resolved id, so two APIs never share an entry (their answers are replayed in their own
 * shapes), and key order, whitespace and number spelling (`1.0`, `1`, `1e0`) in the body as sent
 * do not matter. Top-level `null` values are dropped too: each API reads a null optional field as
 * not given (OpenAI documents it; Gemini's proto3 JSON maps null to the default; Ollama's Go
 * decoder leaves the field unset; Anthropic refuses most nulls, so such a request never gets an
 * answer to store). Nested values are kept exactly (array order matters; nulls inside messages
 * are kept).
 *
 * `format` defaults to openai, the only API keyed before v2.
 *
 * The tenant is a prefix outside the hash, so one tenant's entries can be listed or dropped by
 * prefix; the hash is always the last 64 characters, so a tenant containing ':' stays unambiguous.
 */
export function cacheKey(o: { tenant: string; format?: FormatId; model: string; request: Record<string, unknown> }): string {
  const format = o.format ?? 'openai';
  const req = o.request;
  const ignored = IGNORED[format];
  const top: Record<string, unknown> = {};
  for (const k of Object.keys(req)) {
    const v = req[k];
    if (v === null || v === undefined) continue;
    let name = k;
    if (format === 'gemini') {
      const camel = camelKey(k);
      if (ignored.has(camel)) continue;
      // When both spellings are present each keeps its own name: a distinct key, never a collision.
      if (camel !== k && !present(req, camel)) name = camel;
    } else if (ignored.has(k)) {
      continue;
    }
    setOwn(top, name, v);
  }
  top.model = o.model;
  // The API id ends at a newline, which no id contains, so (API, body) pairs cannot collide.
  const hash = createHash('sha256').update(format, 'utf8').update('\n', 'utf8').update(canonicalJson(top), 'utf8').digest('hex');
  return `${KEY_PREFIX + o.tenant}:${hash}`;
}

const present = (o: Record<string, unknown>, k: string): boolean => Object.hasOwn(o, k) && o[k] !== null && o[k] !== undefined;

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
          out += `${JSON.stringify(k)}:`;
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
