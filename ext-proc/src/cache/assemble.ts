import type {
  ChatCompletion,
  ChatCompletionChoice,
  ChatCompletionFunctionToolCall,
  ChatCompletionLogprobs,
  ChatCompletionMessage,
  ChatCompletionTokenLogprob,
  ChatCompletionUsage,
} from './types.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Delta fields the assembler turns into message fields; any other non-empty one makes the stream uncacheable. */
const KNOWN_DELTA_FIELDS = new Set(['role', 'content', 'refusal', 'tool_calls', 'function_call']);

interface ToolCallState {
  id: string | undefined;
  type: string | undefined;
  name: string | undefined;
  args: string[];
}

interface ChoiceState {
  content: string[] | undefined;
  refusal: string[] | undefined;
  toolCalls: Map<number, ToolCallState>;
  functionCall: { name: string | undefined; args: string[] } | undefined;
  logprobs: ChatCompletionLogprobs | undefined;
  finishReason: string | undefined;
}

/**
 * Builds the non-stream `chat.completion` equivalent of an OpenAI chat completion stream, from
 * the parsed JSON of each `chat.completion.chunk` event in order. Choices may interleave (n > 1);
 * tool calls are merged by their `index`, taking id/type/name from the first delta that has them
 * and concatenating `function.arguments`.
 *
 * result() is the completion only when it is complete and faithful: `[DONE]` seen, every choice
 * finished, no error event, nothing in the stream the completion cannot represent (audio,
 * annotations, custom tool calls). Otherwise it is undefined and `problem` says why, so a cache
 * never stores a partial or lossy answer.
 */
export class ChatStreamAssembler {
  private id: string | undefined;
  private created: number | undefined;
  private model: string | undefined;
  private systemFingerprint: string | null | undefined;
  private serviceTier: string | null | undefined;
  private usage: ChatCompletionUsage | undefined;
  private readonly choices = new Map<number, ChoiceState>();
  private finished = false;
  private failure: string | undefined;

  /** Feeds one parsed chunk. Chunks after done() or after a failure are ignored. */
  push(chunk: unknown): void {
    if (this.finished || this.failure !== undefined) return;
    if (!isObj(chunk)) return this.fail('a chunk is not a JSON object');
    if (chunk.error !== undefined && chunk.error !== null) return this.fail('the stream carried an error event');
    if (typeof chunk.id === 'string' && this.id === undefined) this.id = chunk.id;
    if (typeof chunk.created === 'number' && this.created === undefined) this.created = chunk.created;
    if (typeof chunk.model === 'string' && this.model === undefined) this.model = chunk.model;
    if (typeof chunk.system_fingerprint === 'string' || (chunk.system_fingerprint === null && this.systemFingerprint === undefined)) {
      this.systemFingerprint = chunk.system_fingerprint;
    }
    if (typeof chunk.service_tier === 'string' || (chunk.service_tier === null && this.serviceTier === undefined)) {
      this.serviceTier = chunk.service_tier;
    }
    // OpenAI puts usage on a final chunk with `choices: []`; some compatible servers put it on the last choice chunk.
    if (isObj(chunk.usage)) this.usage = chunk.usage as ChatCompletionUsage;
    const choices = chunk.choices;
    if (choices === undefined || choices === null) return;
    if (!Array.isArray(choices)) return this.fail('choices is not an array');
    for (const c of choices) {
      if (!isObj(c) || !Number.isInteger(c.index) || (c.index as number) < 0) return this.fail('a choice has no valid index');
      this.pushChoice(this.choice(c.index as number), c);
      if (this.failure !== undefined) return;
    }
  }

  /** The stream ended with `data: [DONE]`. */
  done(): void {
    this.finished = true;
  }

  /** Why result() is undefined, or undefined when it is not. */
  get problem(): string | undefined {
    if (this.failure !== undefined) return this.failure;
    if (!this.finished) return 'the stream did not end with [DONE]';
    if (this.id === undefined || this.created === undefined || this.model === undefined) return 'the chunks lack id, created or model';
    if (this.choices.size === 0) return 'the stream has no choices';
    for (let i = 0; i < this.choices.size; i++) {
      const c = this.choices.get(i);
      if (c === undefined) return `choice ${i} is missing`;
      if (c.finishReason === undefined) return `choice ${i} has no finish_reason`;
    }
    return undefined;
  }

  result(): ChatCompletion | undefined {
    if (this.problem !== undefined) return undefined;
    const choices: ChatCompletionChoice[] = [];
    for (let i = 0; i < this.choices.size; i++) choices.push(buildChoice(i, this.choices.get(i)!));
    const out: ChatCompletion = { id: this.id!, object: 'chat.completion', created: this.created!, model: this.model!, choices };
    if (this.systemFingerprint !== undefined) out.system_fingerprint = this.systemFingerprint;
    if (this.serviceTier !== undefined) out.service_tier = this.serviceTier;
    if (this.usage !== undefined) out.usage = this.usage;
    return out;
  }

  private fail(why: string): void {
    this.failure = why;
  }

  private choice(index: number): ChoiceState {
    let c = this.choices.get(index);
    if (c === undefined) {
      c = { content: undefined, refusal: undefined, toolCalls: new Map(), functionCall: undefined, logprobs: undefined, finishReason: undefined };
      this.choices.set(index, c);
    }
    return c;
  }

  private pushChoice(s: ChoiceState, c: Obj): void {
    const delta = c.delta;
    if (isObj(delta)) {
      for (const k in delta) {
        if (!KNOWN_DELTA_FIELDS.has(k) && !isEmpty(delta[k])) return this.fail(`the stream has a "${k}" delta the cache cannot replay`);
      }
      // role is always "assistant" in a completion; the delta's copy needs no tracking.
      if (typeof delta.content === 'string') (s.content ??= []).push(delta.content);
      if (typeof delta.refusal === 'string') (s.refusal ??= []).push(delta.refusal);
      if (Array.isArray(delta.tool_calls)) {
        for (const tc of delta.tool_calls) {
          if (!isObj(tc) || !Number.isInteger(tc.index)) return this.fail('a tool call delta has no index');
          if ((tc.type !== undefined && tc.type !== null && tc.type !== 'function') || tc.custom !== undefined) {
            return this.fail('the stream has a non-function tool call');
          }
          let t = s.toolCalls.get(tc.index as number);
          if (t === undefined) {
            t = { id: undefined, type: undefined, name: undefined, args: [] };
            s.toolCalls.set(tc.index as number, t);
          }
          if (typeof tc.id === 'string' && tc.id !== '') t.id ??= tc.id;
          if (typeof tc.type === 'string') t.type ??= tc.type;
          const fn = tc.function;
          if (isObj(fn)) {
            if (typeof fn.name === 'string' && fn.name !== '') t.name ??= fn.name;
            if (typeof fn.arguments === 'string') t.args.push(fn.arguments);
          }
        }
      }
      const fc = delta.function_call;
      if (isObj(fc)) {
        s.functionCall ??= { name: undefined, args: [] };
        if (typeof fc.name === 'string' && fc.name !== '') s.functionCall.name ??= fc.name;
        if (typeof fc.arguments === 'string') s.functionCall.args.push(fc.arguments);
      }
    }
    const lp = c.logprobs;
    if (isObj(lp)) {
      s.logprobs ??= { content: null, refusal: null };
      if (Array.isArray(lp.content)) pushAll((s.logprobs.content ??= []), lp.content as ChatCompletionTokenLogprob[]);
      if (Array.isArray(lp.refusal)) pushAll((s.logprobs.refusal ??= []), lp.refusal as ChatCompletionTokenLogprob[]);
    }
    if (typeof c.finish_reason === 'string') s.finishReason = c.finish_reason;
  }
}

function buildChoice(index: number, s: ChoiceState): ChatCompletionChoice {
  const message: ChatCompletionMessage = {
    role: 'assistant',
    content: s.content === undefined ? null : s.content.join(''),
    refusal: s.refusal === undefined ? null : s.refusal.join(''),
  };
  if (s.toolCalls.size > 0) {
    const indexes = [...s.toolCalls.keys()].sort((a, b) => a - b);
    message.tool_calls = indexes.map((i): ChatCompletionFunctionToolCall => {
      const t = s.toolCalls.get(i)!;
      return { id: t.id ?? '', type: 'function', function: { name: t.name ?? '', arguments: t.args.join('') } };
    });
  }
  if (s.functionCall !== undefined) message.function_call = { name: s.functionCall.name ?? '', arguments: s.functionCall.args.join('') };
  return { index, message, logprobs: s.logprobs ?? null, finish_reason: s.finishReason! };
}

/** null, undefined, '' and [] carry nothing (OpenAI sends e.g. `"refusal": null`, `"annotations": []`). */
function isEmpty(v: unknown): boolean {
  return v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0);
}

function pushAll<T>(into: T[], from: readonly T[]): void {
  for (const x of from) into.push(x);
}

/** Message fields a cached completion may carry only when empty: replaySse could not reproduce them. */
const REPLAYABLE_MESSAGE_FIELDS = new Set(['role', 'content', 'refusal', 'tool_calls', 'function_call']);

/**
 * Whether a completion may be stored and replayed. True for a well-formed completion (id,
 * created, model, choices indexed 0..n-1 with none missing, valid usage) whose every choice
 * finished with:
 *  - `stop`: the model ended its answer;
 *  - `tool_calls` / `function_call`: the model ended by calling tools, with arguments that parse
 *    as JSON (a model sometimes emits broken JSON; a retry without the cache would likely fix
 *    it, a cached copy would pin the broken one);
 *  - `length`: the answer was cut at max_tokens / max_completion_tokens. Those limits are part of
 *    the key, so the same request with the same limit gets the same truncation; a caller that
 *    wants more raises the limit, which is a different key.
 * Never `content_filter` (the filter's verdict depends on policy at that moment, and a
 * partly-filtered answer should not be pinned), never an unknown or missing finish_reason.
 *
 * Usage is required: a hit must be able to answer `stream_options.include_usage` and to be
 * metered (cache savings). Message fields other than role/content/refusal/tool_calls/
 * function_call (audio, annotations, ...) must be empty, as replaySse cannot reproduce them.
 */
export function isCacheableCompletion(c: unknown): boolean {
  if (!isObj(c)) return false;
  if (c.object !== 'chat.completion' || typeof c.id !== 'string' || typeof c.created !== 'number' || typeof c.model !== 'string') return false;
  if (!isUsage(c.usage)) return false;
  const choices = c.choices;
  if (!Array.isArray(choices) || choices.length === 0) return false;
  const seen = new Array<boolean>(choices.length).fill(false);
  for (const ch of choices) {
    if (!isObj(ch)) return false;
    const i = ch.index;
    if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= choices.length || seen[i]) return false;
    seen[i] = true;
    if (!isCacheableChoice(ch)) return false;
  }
  return true;
}

function isCacheableChoice(ch: Obj): boolean {
  const m = ch.message;
  if (!isObj(m) || m.role !== 'assistant') return false;
  for (const k in m) if (!REPLAYABLE_MESSAGE_FIELDS.has(k) && !isEmpty(m[k])) return false;
  if (m.content !== null && m.content !== undefined && typeof m.content !== 'string') return false;
  if (m.refusal !== null && m.refusal !== undefined && typeof m.refusal !== 'string') return false;
  if (ch.logprobs !== null && ch.logprobs !== undefined && !isObj(ch.logprobs)) return false;
  const finish = ch.finish_reason;
  if (finish !== 'stop' && finish !== 'length' && finish !== 'tool_calls' && finish !== 'function_call') return false;
  const strictArgs = finish === 'tool_calls' || finish === 'function_call';
  const calls = m.tool_calls;
  if (calls !== undefined && calls !== null) {
    if (!Array.isArray(calls)) return false;
    for (const tc of calls) {
      if (!isObj(tc) || typeof tc.id !== 'string' || tc.id === '' || tc.type !== 'function' || !isObj(tc.function)) return false;
      if (!isFunctionCall(tc.function, strictArgs)) return false;
    }
  }
  const fc = m.function_call;
  if (fc !== undefined && fc !== null && !(isObj(fc) && isFunctionCall(fc, strictArgs))) return false;
  const hasAnswer =
    typeof m.content === 'string' || typeof m.refusal === 'string' || (Array.isArray(calls) && calls.length > 0) || (fc !== undefined && fc !== null);
  if (!hasAnswer) return false;
  if (finish === 'tool_calls' && !(Array.isArray(calls) && calls.length > 0)) return false;
  if (finish === 'function_call' && (fc === undefined || fc === null)) return false;
  return true;
}

function isFunctionCall(fn: Obj, strictArgs: boolean): boolean {
  if (typeof fn.name !== 'string' || fn.name === '' || typeof fn.arguments !== 'string') return false;
  if (!strictArgs) return true;
  try {
    JSON.parse(fn.arguments);
    return true;
  } catch {
    return false;
  }
}

function isUsage(u: unknown): boolean {
  if (!isObj(u)) return false;
  const n = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  return n(u.prompt_tokens) && n(u.completion_tokens) && n(u.total_tokens);
}
