import type { EventSourceMessage } from 'eventsource-parser';
import { SseDecoder } from '../providers/canonical/sse-decoder.js';

/*
 * When the caller speaks the API the answer arrives in, a miss passes the answer through
 * untouched, so a canonical entry (text, tool calls, finish, usage) must not be served in its
 * place if the answer held more than that: the caller would get a different answer from a hit
 * than from a miss. These checks read the answer as it came and name the first thing the
 * canonical form would drop; undefined means nothing that matters is lost.
 *
 * Deliberately allowed to drop (informational, never the answer itself): ids and timestamps
 * (a hit has its own), durations, usage breakdowns beyond the canonical counters, Gemini's
 * safetyRatings / avgLogprobs, and Gemini thought signatures on text parts (Google does not
 * enforce them on text; those on function calls are required back in the next turn, and count
 * as a loss). Anything a check does not know counts as a loss: a miss is the safe side.
 *
 * Not needed for OpenAI: an OpenAI caller of an OpenAI-format answer gets the `openai` entry kind,
 * which keeps the completion whole.
 */

export type SameApiFormat = 'anthropic' | 'gemini' | 'ollama';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
/** null, undefined, '', [] and {} say nothing, wherever an API sends them for "none". */
const isEmpty = (v: unknown): boolean =>
  v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0) || (isObj(v) && Object.keys(v).length === 0);

/** The first non-empty field of `o` outside `allowed`. */
function extraField(o: Obj, allowed: ReadonlySet<string>): string | undefined {
  for (const k in o) if (!allowed.has(k) && !isEmpty(o[k])) return k;
  return undefined;
}

/** What a canonical entry would lose of a whole (non-stream) answer in `format`, already parsed. */
export function wholeAnswerLoss(format: SameApiFormat, body: unknown): string | undefined {
  switch (format) {
    case 'anthropic':
      return anthropicMessageLoss(body);
    case 'gemini':
      return geminiChunkLoss(body);
    case 'ollama':
      return ollamaObjectLoss(body);
  }
}

/** Reads a stream in `format` alongside its decoder and keeps the first loss it finds. */
export interface StreamLossWatch {
  push(chunk: Buffer): void;
  end(): void;
  /** What a canonical entry would lose, once seen. */
  readonly loss: string | undefined;
}

export function streamLossWatch(format: SameApiFormat): StreamLossWatch {
  switch (format) {
    case 'anthropic':
      return new SseWatch(anthropicEventLoss);
    case 'gemini':
      return new SseWatch((data) => geminiChunkLoss(data));
    case 'ollama':
      return new NdjsonWatch();
  }
}

// ---- Anthropic ------------------------------------------------------------------------------

const MESSAGE_FIELDS = new Set(['id', 'type', 'role', 'model', 'content', 'stop_reason', 'stop_sequence', 'usage']);
/**
 * stop_sequence (which sequence matched), pause_turn, refusal and running out of context have
 * no canonical word: a replay would say end_turn or max_tokens instead.
 */
const KEPT_STOP_REASONS = new Set(['end_turn', 'max_tokens', 'tool_use']);

function stopReasonLoss(reason: unknown): string | undefined {
  if (reason === null || reason === undefined || KEPT_STOP_REASONS.has(reason as string)) return undefined;
  return `stop_reason "${String(reason)}"`;
}

/** A content block as it starts (stream) or as it is (whole): text without citations, or tool_use. */
function anthropicBlockLoss(block: unknown): string | undefined {
  if (!isObj(block)) return 'a content block that is not an object';
  if (block.type === 'text') return isEmpty(block.citations) ? undefined : 'text citations';
  if (block.type === 'tool_use') return undefined;
  return `a "${String(block.type)}" content block`;
}

function anthropicMessageLoss(m: unknown): string | undefined {
  if (!isObj(m)) return 'not a Message';
  const extra = extraField(m, MESSAGE_FIELDS);
  if (extra) return `the Message field "${extra}"`;
  if (Array.isArray(m.content)) {
    for (const b of m.content) {
      const loss = anthropicBlockLoss(b);
      if (loss) return loss;
    }
  }
  return stopReasonLoss(m.stop_reason);
}

const KEPT_DELTAS = new Set(['text_delta', 'input_json_delta']);

function anthropicEventLoss(data: unknown): string | undefined {
  if (!isObj(data)) return undefined;
  switch (data.type) {
    case 'message_start': {
      if (!isObj(data.message)) return undefined;
      const m = data.message;
      const extra = extraField(m, MESSAGE_FIELDS);
      return extra ? `the Message field "${extra}"` : undefined;
    }
    case 'content_block_start':
      return anthropicBlockLoss(data.content_block);
    case 'content_block_delta': {
      const d = data.delta;
      return isObj(d) && KEPT_DELTAS.has(d.type as string) ? undefined : `a "${isObj(d) ? String(d.type) : '?'}" delta`;
    }
    case 'message_delta': {
      const d = isObj(data.delta) ? data.delta : {};
      const extra = extraField(d, new Set(['stop_reason', 'stop_sequence']));
      return extra ? `the message_delta field "${extra}"` : stopReasonLoss(d.stop_reason);
    }
    case 'content_block_stop':
    case 'message_stop':
    case 'ping':
    case 'error': // the decoder reports it and the answer is not stored anyway
      return undefined;
    default:
      return `a "${String(data.type)}" event`;
  }
}

// ---- Gemini ---------------------------------------------------------------------------------

/** createTime: Vertex-style timestamps; promptFeedback: a block reason already fails the finish rule. */
const RESPONSE_FIELDS = new Set(['candidates', 'usageMetadata', 'modelVersion', 'responseId', 'promptFeedback', 'createTime']);
const CANDIDATE_FIELDS = new Set(['content', 'finishReason', 'index', 'safetyRatings', 'avgLogprobs', 'tokenCount', 'finishMessage']);
const TEXT_PART_FIELDS = new Set(['text', 'thoughtSignature']);
const CALL_PART_FIELDS = new Set(['functionCall']);

/** One GenerateContentResponse: a whole answer or one stream event. Field names as Google sends them (camelCase). */
function geminiChunkLoss(r: unknown): string | undefined {
  if (!isObj(r)) return 'not a GenerateContentResponse';
  const extra = extraField(r, RESPONSE_FIELDS);
  if (extra) return `the response field "${extra}"`;
  if (!Array.isArray(r.candidates)) return undefined;
  // More than one candidate needs candidateCount, and the canonical form keeps the first only.
  if (r.candidates.length > 1) return 'more than one candidate';
  const c: unknown = r.candidates[0];
  if (!isObj(c)) return undefined;
  const cExtra = extraField(c, CANDIDATE_FIELDS);
  if (cExtra) return `the candidate field "${cExtra}"`;
  const parts = isObj(c.content) && Array.isArray(c.content.parts) ? c.content.parts : [];
  for (const p of parts) {
    if (!isObj(p)) return 'a part that is not an object';
    if (p.thought === true) return 'a thought part';
    if (typeof p.text === 'string') {
      const e = extraField(p, TEXT_PART_FIELDS);
      if (e) return `the text part field "${e}"`;
    } else if (isObj(p.functionCall)) {
      const e = extraField(p, CALL_PART_FIELDS);
      if (e) return `the function call part field "${e}"`;
    } else if (!isEmpty(p)) {
      return `a part holding "${Object.keys(p).join(', ')}"`;
    }
  }
  return undefined;
}

// ---- Ollama ---------------------------------------------------------------------------------

const OLLAMA_FIELDS = new Set([
  'model',
  'created_at',
  'message',
  'done',
  'done_reason',
  'total_duration',
  'load_duration',
  'prompt_eval_count',
  'prompt_eval_duration',
  'eval_count',
  'eval_duration',
]);
const OLLAMA_MESSAGE_FIELDS = new Set(['role', 'content', 'tool_calls']);
const OLLAMA_CALL_FIELDS = new Set(['function', 'type']);
const OLLAMA_FUNCTION_FIELDS = new Set(['name', 'arguments', 'index']);
/** load/unload answers generate nothing; a reason Ollama adds later is unknown here. */
const KEPT_DONE_REASONS = new Set(['stop', 'length']);

/** One chat object: the whole answer or one stream line. */
function ollamaObjectLoss(o: unknown): string | undefined {
  if (!isObj(o)) return 'not a chat object';
  const extra = extraField(o, OLLAMA_FIELDS);
  if (extra) return `the field "${extra}"`;
  if (o.done === true && o.done_reason !== undefined && o.done_reason !== null && !KEPT_DONE_REASONS.has(o.done_reason as string)) {
    return `done_reason "${String(o.done_reason)}"`;
  }
  if (!isObj(o.message)) return undefined;
  const m = o.message;
  // thinking (think: true, or a thinking model's default) is the main case here.
  const mExtra = extraField(m, OLLAMA_MESSAGE_FIELDS);
  if (mExtra) return `the message field "${mExtra}"`;
  if (Array.isArray(m.tool_calls)) {
    for (const tc of m.tool_calls) {
      if (!isObj(tc)) return 'a tool call that is not an object';
      const e = extraField(tc, OLLAMA_CALL_FIELDS) ?? (isObj(tc.function) ? extraField(tc.function, OLLAMA_FUNCTION_FIELDS) : undefined);
      if (e) return `the tool call field "${e}"`;
    }
  }
  return undefined;
}

// ---- framing --------------------------------------------------------------------------------

/** SSE framing shared with the decoders; every event's JSON goes through `check`. */
class SseWatch extends SseDecoder implements StreamLossWatch {
  loss: string | undefined;

  constructor(private readonly check: (data: unknown) => string | undefined) {
    super();
  }

  override push(chunk: Buffer): [] {
    if (this.loss === undefined) super.push(chunk);
    return [];
  }

  override end(): [] {
    if (this.loss === undefined) super.end();
    return [];
  }

  protected onEvent(e: EventSourceMessage): void {
    if (this.loss !== undefined) return;
    let data: unknown;
    try {
      data = JSON.parse(e.data);
    } catch {
      return; // the decoder judges framing and JSON; this only looks at content
    }
    this.loss = this.check(data);
  }
}

const NEWLINE = 0x0a;

/** Ollama's NDJSON: one chat object per line, lines split anywhere across chunks. */
class NdjsonWatch implements StreamLossWatch {
  loss: string | undefined;
  private pending: Buffer[] = [];

  push(chunk: Buffer): void {
    if (this.loss !== undefined) return;
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1 && this.loss === undefined; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl);
      this.line(this.pending.length > 0 ? Buffer.concat([...this.pending, piece]) : piece);
      this.pending = [];
      start = nl + 1;
    }
    if (start < chunk.length) this.pending.push(chunk.subarray(start));
  }

  end(): void {
    if (this.loss === undefined && this.pending.length > 0) this.line(Buffer.concat(this.pending));
    this.pending = [];
  }

  private line(bytes: Buffer): void {
    const text = bytes.toString('utf8').trim();
    if (text === '') return;
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch {
      return;
    }
    if (isObj(o) && o.error !== undefined) return;
    this.loss = ollamaObjectLoss(o);
  }
}
