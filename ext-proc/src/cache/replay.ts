import type { ChatCompletion, ChatCompletionChoice, ChatCompletionLogprobs } from './types.js';

/**
 * The stored completion as a non-stream response body, under a new id and created time (and
 * model, when given; else the model the stored answer reported). All other fields as stored.
 */
export function replayJson(c: ChatCompletion, o: { id: string; created: number; model?: string }): Buffer {
  // Spreading keeps the stored key order; id, created and model are replaced in place.
  return Buffer.from(JSON.stringify({ ...c, id: o.id, created: o.created, model: o.model ?? c.model }), 'utf8');
}

/**
 * The stored completion as an OpenAI chat completion SSE stream (`data: <json>\n\n` events,
 * ending with `data: [DONE]\n\n`), under a new id and created time (and model, when given).
 * Per choice, in index order:
 *  - a first chunk with delta `{role: "assistant", content: "", refusal: null}` (content null
 *    when the answer has none, as OpenAI sends before tool calls);
 *  - the content in 1–4 chunks (refusal likewise);
 *  - each tool call: a delta with index/id/type/name and the start of the arguments, then the rest
 *    of the arguments (1–4 pieces in all); the deprecated function_call the same way;
 *  - a chunk with an empty delta and the finish_reason.
 * With includeUsage every chunk carries `"usage": null` and a last chunk has `choices: []` and the
 * stored usage, as OpenAI documents for `stream_options.include_usage` (no usage chunk if none
 * was stored; isCacheableCompletion refuses such completions).
 *
 * Logprobs, when stored, go whole on one chunk: the content's with the content (then sent in one
 * piece, so tokens and text stay together), the refusal's with the refusal, else on the finish chunk.
 */
export function replaySse(c: ChatCompletion, o: { id: string; created: number; includeUsage: boolean; model?: string }): Buffer {
  const head: Record<string, unknown> = { id: o.id, object: 'chat.completion.chunk', created: o.created, model: o.model ?? c.model };
  if (c.service_tier !== undefined) head.service_tier = c.service_tier;
  if (c.system_fingerprint !== undefined) head.system_fingerprint = c.system_fingerprint;
  const events: string[] = [];
  const emit = (choices: unknown[], usage?: unknown): void => {
    const chunk: Record<string, unknown> = { ...head, choices };
    if (o.includeUsage) chunk.usage = usage ?? null;
    events.push(`data: ${JSON.stringify(chunk)}\n\n`);
  };
  const choices = [...c.choices].sort((a, b) => a.index - b.index);
  for (const choice of choices) {
    for (const chunkChoice of choiceChunks(choice)) emit([chunkChoice]);
  }
  if (o.includeUsage && c.usage) emit([], c.usage);
  events.push('data: [DONE]\n\n');
  return Buffer.from(events.join(''), 'utf8');
}

/** The `choices[0]` of each chunk that streams one choice. */
function choiceChunks(ch: ChatCompletionChoice): Record<string, unknown>[] {
  const { index, message: m } = ch;
  const out: Record<string, unknown>[] = [];
  let logprobs: ChatCompletionLogprobs | null = ch.logprobs ?? null;
  const push = (delta: Record<string, unknown>, lp: ChatCompletionLogprobs | null = null, finish: string | null = null): void => {
    out.push({ index, delta, logprobs: lp, finish_reason: finish });
  };

  push({ role: 'assistant', content: m.content === null || m.content === undefined ? null : '', refusal: null });

  if (m.content) {
    if (logprobs?.content) {
      push({ content: m.content }, { content: logprobs.content, refusal: null });
      logprobs = logprobs.refusal ? { content: null, refusal: logprobs.refusal } : null;
    } else {
      for (const piece of splitText(m.content)) push({ content: piece });
    }
  }
  if (m.refusal) {
    if (logprobs?.refusal) {
      push({ refusal: m.refusal }, { content: null, refusal: logprobs.refusal });
      logprobs = logprobs.content ? { content: logprobs.content, refusal: null } : null;
    } else {
      for (const piece of splitText(m.refusal)) push({ refusal: piece });
    }
  }
  m.tool_calls?.forEach((tc, i) => {
    const [first = '', ...rest] = splitText(tc.function.arguments);
    push({ tool_calls: [{ index: i, id: tc.id, type: tc.type, function: { name: tc.function.name, arguments: first } }] });
    for (const piece of rest) push({ tool_calls: [{ index: i, function: { arguments: piece } }] });
  });
  if (m.function_call) {
    const [first = '', ...rest] = splitText(m.function_call.arguments);
    push({ function_call: { name: m.function_call.name, arguments: first } });
    for (const piece of rest) push({ function_call: { arguments: piece } });
  }

  push({}, logprobs, ch.finish_reason);
  return out;
}

const MAX_PIECES = 4;
const MIN_PIECE_CHARS = 32;

/**
 * Splits text into 1–4 pieces of at least 32 characters (the last may be shorter), never between
 * the two halves of a surrogate pair: each piece must be valid UTF-16 on its own, since clients in
 * other languages decode every chunk's JSON separately. '' gives [].
 */
export function splitText(s: string): string[] {
  const size = Math.max(MIN_PIECE_CHARS, Math.ceil(s.length / MAX_PIECES));
  const pieces: string[] = [];
  let start = 0;
  while (start < s.length) {
    let end = Math.min(s.length, start + size);
    const code = s.charCodeAt(end - 1);
    if (end < s.length && code >= 0xd800 && code <= 0xdbff) end++;
    pieces.push(s.slice(start, end));
    start = end;
  }
  return pieces;
}
