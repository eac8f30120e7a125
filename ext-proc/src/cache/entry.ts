import type { Usage } from '../metering/usage.js';
import type { CanonicalResponse, Part } from '../providers/canonical/types.js';
import { fromOpenAIUsage } from '../providers/openai/usage.js';
import { isCacheableCompletion } from './assemble.js';
import type { ChatCompletion } from './types.js';

/*
 * What one cache entry holds. Two kinds:
 *
 * - `openai`: the OpenAI chat completion itself, every field as it came (n > 1 choices, logprobs,
 *   refusal, service_tier, system_fingerprint). Only for an OpenAI caller whose answer was read
 *   in OpenAI's format: then a hit can give back exactly what a miss would have passed through.
 * - `canonical`: the answer in the gateway's canonical form (text and tool-call parts, finish
 *   reason, usage), rendered for the caller's API on a hit. Every other caller/answer pairing.
 *
 * Stored as versioned JSON. ENTRY_VERSION moves with the key prefix (key.ts), so a replica of
 * another version never reads these keys; a version or kind this code does not know is still a
 * miss, never an error.
 */

export const ENTRY_VERSION = 2;

/** Who produced the answer (for a chained call, the member that answered): for a hit's headers and its savings. */
export interface EntryOrigin {
  /** Catalog model id. */
  model: string;
  /** Catalog provider id. */
  provider: string;
}

/** A canonical answer as the cache keeps it: text and tool-call parts only. */
export interface CachedResponse extends CanonicalResponse {
  content: Array<Extract<Part, { type: 'text' | 'tool_call' }>>;
  usage: Usage;
}

export type CacheEntry =
  | { kind: 'openai'; completion: ChatCompletion; origin?: EntryOrigin }
  | { kind: 'canonical'; response: CachedResponse; origin?: EntryOrigin };

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The entry as stored: `{"v":2,"kind":…,"completion"|"response":…[,"origin":…]}`. */
export function serializeEntry(entry: CacheEntry): Buffer {
  const out: Obj = { v: ENTRY_VERSION, kind: entry.kind };
  if (entry.kind === 'openai') out.completion = entry.completion;
  else out.response = entry.response;
  if (entry.origin) out.origin = { model: entry.origin.model, provider: entry.origin.provider };
  return Buffer.from(JSON.stringify(out), 'utf8');
}

/**
 * The entry stored as `raw`, or undefined when it is not one this code can replay: not JSON, a
 * different version or kind, or an answer that fails the rule it was stored under (a truncated
 * or tampered value). Never throws: a bad entry is a miss.
 */
export function parseEntry(raw: Buffer | string): CacheEntry | undefined {
  let v: unknown;
  try {
    v = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isObj(v) || v.v !== ENTRY_VERSION) return undefined;
  let origin: EntryOrigin | undefined;
  if (v.origin !== undefined) {
    const o = v.origin;
    if (!isObj(o) || typeof o.model !== 'string' || typeof o.provider !== 'string') return undefined;
    origin = { model: o.model, provider: o.provider };
  }
  if (v.kind === 'openai') {
    if (!isCacheableCompletion(v.completion)) return undefined;
    const completion = v.completion as ChatCompletion;
    return origin ? { kind: 'openai', completion, origin } : { kind: 'openai', completion };
  }
  if (v.kind === 'canonical') {
    if (!isCacheableResponse(v.response)) return undefined;
    const response = v.response;
    return origin ? { kind: 'canonical', response, origin } : { kind: 'canonical', response };
  }
  return undefined;
}

/** The stored answer's token usage, in the gateway's terms (what a hit saved). */
export function entryUsage(entry: CacheEntry): Usage | undefined {
  return entry.kind === 'openai' ? fromOpenAIUsage(entry.completion.usage) : entry.response.usage;
}

/**
 * Whether a canonical answer may be stored and replayed. True for a complete answer:
 *  - finished with `stop`, `length` (max_tokens is in the key: same limit, same cut) or
 *    `tool_calls` (with at least one call); never `content_filter` (a verdict of the moment) or
 *    `error`;
 *  - with usage (a hit is metered as savings and OpenAI callers may ask for the usage chunk);
 *  - holding something: non-empty text or a tool call (an empty answer is more likely a glitch
 *    than the answer, and a retry is cheap next to pinning it for the TTL);
 *  - only text and tool-call parts, each tool call with an id, a name and arguments that are a
 *    JSON object. Unlike the openai kind, cut-off arguments are refused even after `length`:
 *    Anthropic, Gemini and Ollama callers can only be shown an object, so a replay would have to
 *    alter or reject the call.
 */
export function isCacheableResponse(r: unknown): r is CachedResponse {
  if (!isObj(r) || typeof r.id !== 'string' || typeof r.model !== 'string') return false;
  if (r.finishReason !== 'stop' && r.finishReason !== 'length' && r.finishReason !== 'tool_calls') return false;
  if (!isUsage(r.usage)) return false;
  if (!Array.isArray(r.content)) return false;
  let answered = false;
  let calls = 0;
  for (const p of r.content as unknown[]) {
    if (!isObj(p)) return false;
    if (p.type === 'text') {
      if (typeof p.text !== 'string') return false;
      if (p.text !== '') answered = true;
    } else if (p.type === 'tool_call') {
      if (typeof p.id !== 'string' || p.id === '' || typeof p.name !== 'string' || p.name === '' || typeof p.arguments !== 'string') return false;
      if (!isJsonObjectText(p.arguments)) return false;
      answered = true;
      calls++;
    } else {
      return false;
    }
  }
  if (!answered) return false;
  return r.finishReason !== 'tool_calls' || calls > 0;
}

function isJsonObjectText(s: string): boolean {
  try {
    return isObj(JSON.parse(s));
  } catch {
    return false;
  }
}

function isUsage(u: unknown): u is Usage {
  if (!isObj(u)) return false;
  const n = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  return n(u.inputTokens) && n(u.outputTokens) && n(u.cachedInputTokens) && n(u.reasoningTokens);
}
