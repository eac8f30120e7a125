import type { Usage } from '../metering/usage.js';
import type { WireFormat } from '../providers/canonical/format.js';
import type { CanonicalResponse, StreamEvent } from '../providers/canonical/types.js';
import { responseId } from '../providers/formats.js';
import { parseChatCompletion } from '../providers/openai/response.js';
import { isCacheableResponse, type CacheEntry, type CachedResponse, entryUsage } from './entry.js';
import { replayJson, replaySse, splitText } from './replay.js';

export interface ReplayOptions {
  /** The caller asked for a stream (its API's own framing) rather than one JSON body. */
  stream: boolean;
  /**
   * The model name to show the caller. Omitted: the model the stored answer reported, which is
   * what a same-API miss shows (it passes the provider's answer through).
   */
  model?: string;
  /** OpenAI callers: `stream_options.include_usage`. The other APIs always carry usage. */
  includeUsage?: boolean;
  /** Response id; a fresh one shaped like the caller API's ids by default. */
  id?: string;
  /** Unix seconds; now by default. */
  created?: number;
}

export interface Replayed {
  body: Buffer;
  /** `content-type` to answer with. */
  contentType: string;
  /** Usage of the stored answer: what the hit saved. */
  usage: Usage | undefined;
}

/**
 * A stored answer as the caller's answer, without calling a provider.
 *
 * - `openai` entries for an OpenAI caller: replayJson / replaySse, the completion as stored.
 * - `canonical` entries: the caller API's renderResponse, or its stream encoder fed with events
 *   made from the answer (responseEvents), so a hit has exactly the shape a translated miss has.
 *
 * Undefined when the entry cannot be shown to this caller (an `openai` entry with several
 * choices for another API, which the key's API separation keeps from happening); the caller
 * treats that as a miss. Never throws for an entry parseEntry accepted.
 */
export function replayEntry(entry: CacheEntry, caller: WireFormat, o: ReplayOptions): Replayed | undefined {
  const id = o.id ?? responseId(caller.id);
  const created = o.created ?? Math.floor(Date.now() / 1000);
  const usage = entryUsage(entry);
  if (entry.kind === 'openai') {
    if (caller.id === 'openai') {
      const at = { id, created, model: o.model };
      const body = o.stream ? replaySse(entry.completion, { ...at, includeUsage: o.includeUsage === true }) : replayJson(entry.completion, at);
      return { body, contentType: o.stream ? caller.streamContentType : 'application/json', usage };
    }
    if (entry.completion.choices.length !== 1) return undefined;
    let res: CanonicalResponse;
    try {
      res = parseChatCompletion(entry.completion);
    } catch {
      return undefined;
    }
    if (!isCacheableResponse(res)) return undefined;
    return renderCanonical(res, caller, { ...o, id, created }, usage);
  }
  return renderCanonical(entry.response, caller, { ...o, id, created }, usage);
}

function renderCanonical(
  res: CachedResponse,
  caller: WireFormat,
  o: ReplayOptions & { id: string; created: number },
  usage: Usage | undefined,
): Replayed | undefined {
  const model = o.model ?? res.model;
  try {
    if (!o.stream) {
      const body = Buffer.from(JSON.stringify(caller.renderResponse(res, { id: o.id, model, created: o.created })), 'utf8');
      return { body, contentType: 'application/json', usage };
    }
    const encoder = caller.createStreamEncoder({ id: o.id, model, created: o.created, includeUsage: o.includeUsage === true });
    const body = Buffer.from(encoder.encode(responseEvents(res, { id: o.id, model })) + encoder.end(false), 'utf8');
    return { body, contentType: caller.streamContentType, usage };
  } catch {
    // Renderers refuse what their API cannot show (isCacheableResponse keeps such answers out).
    return undefined;
  }
}

/**
 * A canonical answer as the stream events a decoder would have produced for it: `start`, the
 * text in a few pieces (splitText), each tool call as its start and its arguments in pieces,
 * then `finish` and `usage`. A few pieces rather than one keep the replay shaped like a live
 * stream (clients that render progressively see progress) at little cost.
 */
export function responseEvents(res: CanonicalResponse, head: { id: string; model: string }): StreamEvent[] {
  const events: StreamEvent[] = [{ type: 'start', id: head.id, model: head.model }];
  let index = 0;
  for (const p of res.content) {
    if (p.type === 'text') {
      for (const text of splitText(p.text)) events.push({ type: 'text', text });
    } else if (p.type === 'tool_call') {
      const i = index++;
      events.push({ type: 'tool_call_start', index: i, id: p.id, name: p.name });
      for (const args of splitText(p.arguments)) events.push({ type: 'tool_call_delta', index: i, arguments: args });
    }
  }
  events.push({ type: 'finish', reason: res.finishReason });
  if (res.usage) events.push({ type: 'usage', usage: res.usage });
  return events;
}
