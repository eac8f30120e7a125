import type { CanonicalMessage, CanonicalRequest, Part } from '../../providers/canonical/types.js';
import type { Redactor } from './redactor.js';

/*
 * Where the text a provider reads lives in a request, in the canonical form and in the caller's
 * own JSON body.
 */

/** Every text of the conversation: system prompt, message text, tool-call arguments, tool results. */
export function conversationTexts(chat: CanonicalRequest): string[] {
  const out: string[] = [];
  if (chat.system) out.push(chat.system);
  for (const m of chat.messages) {
    for (const p of m.content) {
      if (p.type === 'text') out.push(p.text);
      else if (p.type === 'tool_call') out.push(p.arguments);
      else if (p.type === 'tool_result') out.push(p.content);
    }
  }
  return out;
}

/** The canonical request with its conversation texts redacted; the same object when nothing was found. */
export function redactCanonical(chat: CanonicalRequest, r: Redactor): CanonicalRequest {
  const system = chat.system === undefined ? undefined : r.redact(chat.system);
  let changed = system !== chat.system;
  const messages = chat.messages.map((m) => {
    const content = m.content.map((p) => redactPart(p, r));
    if (content.every((p, i) => p === m.content[i])) return m;
    changed = true;
    return { ...m, content } satisfies CanonicalMessage;
  });
  return changed ? { ...chat, system, messages } : chat;
}

function redactPart(p: Part, r: Redactor): Part {
  if (p.type === 'text') {
    const text = r.redact(p.text);
    return text === p.text ? p : { ...p, text };
  }
  if (p.type === 'tool_call') {
    const args = redactJsonText(p.arguments, r, true);
    return args === p.arguments ? p : { ...p, arguments: args };
  }
  if (p.type === 'tool_result') {
    const content = redactJsonText(p.content, r, true);
    return content === p.content ? p : { ...p, content };
  }
  return p;
}

/*
 * Keys of the four APIs' request bodies whose values are not text a person wrote: names, ids,
 * roles, tool and schema definitions, media (base64 or URLs), settings. Left as they are, so
 * the body stays valid for its API.
 */
const STRUCTURAL_KEYS = new Set([
  'model',
  'role',
  'type',
  'name',
  'id',
  'tool_call_id',
  'tool_use_id',
  'tool_name',
  'tools',
  'functions',
  'tool_choice',
  'toolConfig',
  'tool_config',
  'response_format',
  'format',
  'generationConfig',
  'generation_config',
  'safetySettings',
  'safety_settings',
  'cachedContent',
  'cached_content',
  'cache_control',
  'image_url',
  'input_audio',
  'file',
  'images',
  'source',
  'inlineData',
  'inline_data',
  'fileData',
  'file_data',
  'url',
  'data',
  'mime_type',
  'mimeType',
  'media_type',
  'thoughtSignature',
  'thought_signature',
  'signature',
  'stop',
  'stop_sequences',
  'options',
  'stream_options',
  'logit_bias',
]);
/** Values that are a caller's own data (tool-call arguments, tool results): every string inside is text. */
const DATA_KEYS = new Set(['input', 'args', 'response', 'arguments']);

/**
 * The caller's parsed JSON body with every text redacted (for a backend of the caller's own API,
 * which receives this body, and for the cache key). Structural fields stay; an object carrying a
 * provider's `signature` (a signed thinking block) is left whole, since changing it breaks the
 * signature. Returns the same object when nothing changed. Values seen before in the call keep
 * their placeholder and are not counted again.
 */
export function redactBody(body: Record<string, unknown>, r: Redactor): Record<string, unknown> {
  return walk(body, r, false) as Record<string, unknown>;
}

function walk(v: unknown, r: Redactor, data: boolean): unknown {
  if (typeof v === 'string') return data ? redactJsonText(v, r, false) : r.redact(v, false);
  // Outside the caller's data a number is a setting (a seed, a token limit), never personal.
  if (typeof v === 'number') return data ? redactNumber(v, r) : v;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    v.forEach((item, i) => {
      const next = walk(item, r, data);
      if (next !== item) (out ??= [...v])[i] = next;
    });
    return out ?? v;
  }
  if (v === null || typeof v !== 'object') return v;
  const obj = v as Record<string, unknown>;
  if (!data && typeof obj.signature === 'string') return v;
  let out: Record<string, unknown> | undefined;
  for (const [k, item] of Object.entries(obj)) {
    if (!data && STRUCTURAL_KEYS.has(k)) continue;
    const next = walk(item, r, data || DATA_KEYS.has(k));
    if (next !== item) (out ??= { ...obj })[k] = next;
  }
  return out ?? v;
}

/**
 * JSON text (tool-call arguments, structured tool results) redacted string by string, so it
 * stays valid JSON; text that is not JSON is redacted as plain text.
 */
function redactJsonText(text: string, r: Redactor, countRepeats: boolean): string {
  const first = text.trimStart()[0];
  if (first === '{' || first === '[') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return r.redact(text, countRepeats);
    }
    const next = walkData(parsed, r, countRepeats);
    return next === parsed ? text : JSON.stringify(next);
  }
  return r.redact(text, countRepeats);
}

function walkData(v: unknown, r: Redactor, countRepeats: boolean): unknown {
  if (typeof v === 'string') return r.redact(v, countRepeats);
  if (typeof v === 'number') return redactNumber(v, r, countRepeats);
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    v.forEach((item, i) => {
      const next = walkData(item, r, countRepeats);
      if (next !== item) (out ??= [...v])[i] = next;
    });
    return out ?? v;
  }
  if (v === null || typeof v !== 'object') return v;
  let out: Record<string, unknown> | undefined;
  for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
    const next = walkData(item, r, countRepeats);
    if (next !== item) (out ??= { ...(v as Record<string, unknown>) })[k] = next;
  }
  return out ?? v;
}

/** A card number sent as a JSON number is still a card number: it becomes its placeholder string. */
function redactNumber(n: number, r: Redactor, countRepeats = false): number | string {
  if (!Number.isSafeInteger(n) || n < 1e8) return n;
  const text = String(n);
  const out = r.redact(text, countRepeats);
  return out === text ? n : out;
}
