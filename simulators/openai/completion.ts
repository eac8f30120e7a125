/**
 * Deterministic "model" used by the OpenAI-format simulator.
 *
 * Everything here is pure and cheap so that tests elsewhere in the project can
 * compute exactly what the simulator will answer (text, token counts, finish
 * reason) without talking to it.
 *
 * Token counting rules (the simulator's own, NOT a real tokenizer):
 *
 *  - Completion tokens: the completion is emitted as a sequence of words joined
 *    by single spaces. One word == one token, so
 *    `completion_tokens === content.split(' ').length` (0 for empty content).
 *
 *  - Prompt tokens: `ceil(C / 4) + 3 * M`, where M is the number of messages and
 *    C is the total number of characters (JavaScript string length, i.e. UTF-16
 *    code units) of all message contents. A string content counts its length;
 *    an array content counts the `text` of its text parts (other part types,
 *    e.g. images, count 0 characters); null/missing content counts 0. Other
 *    message fields (role, name, tool_calls, ...) are not counted.
 *
 * Response text:
 *
 *    "Hello from the simulator. You said: <echo> <padding words...>"
 *
 * where <echo> is the first 40 characters (code points) of the last user
 * message's text with whitespace collapsed. The default completion is exactly
 * DEFAULT_COMPLETION_TOKENS words (padded with a fixed, cycling word list).
 * The magic marker `[sim:tokens=N]` anywhere in the last user message makes
 * the completion exactly N words instead (capped at MAX_SIM_TOKENS); the word
 * sequence is the same one, just cut or extended.
 *
 * `max_completion_tokens` (preferred) or `max_tokens` truncate the completion;
 * if truncation happened the finish reason is "length", otherwise "stop".
 *
 * Tool calls: when the request declares at least one function tool and the
 * last user text contains `[sim:tool]`, the answer is instead one call to the
 * first declared function with arguments `{"echo": <echo>}`, finish reason
 * "tool_calls" and TOOL_CALL_TOKENS completion tokens.
 *
 * "Last user text" is the text of the last user message, except when the
 * conversation ends with tool results (`tool` or legacy `function` messages):
 * then their texts, joined by a space, stand in for it, as a model would answer
 * the results.
 */

export const SIM_GREETING = 'Hello from the simulator. You said:';
/** Number of completion tokens produced when no `[sim:tokens=N]` marker is given. */
export const DEFAULT_COMPLETION_TOKENS = 32;
/** Upper bound for `[sim:tokens=N]`. */
export const MAX_SIM_TOKENS = 100_000;
/** Number of characters (code points) of the last user message echoed back. */
export const ECHO_CHARS = 40;

const PADDING_WORDS: readonly string[] = [
  'lorem',
  'ipsum',
  'dolor',
  'sit',
  'amet',
  'consectetur',
  'adipiscing',
  'elit',
  'sed',
  'do',
  'eiusmod',
  'tempor',
  'incididunt',
  'ut',
  'labore',
  'et',
  'dolore',
  'magna',
  'aliqua',
];

const GREETING_WORDS: readonly string[] = SIM_GREETING.split(' ');
const TOKENS_MARKER = /\[sim:tokens=(\d+)\]/;
/** Marker in the last user text that asks for a tool call. */
export const SIM_TOOL_MARKER = '[sim:tool]';
/** Completion tokens reported for a tool call answer. */
export const TOOL_CALL_TOKENS = 12;

export type FinishReason = 'stop' | 'length' | 'tool_calls';

export interface PlannedToolCall {
  name: string;
  /** JSON text of the arguments object. */
  arguments: string;
}

export interface CompletionPlan {
  /** The completion split into tokens (words); `content === words.join(' ')`. */
  words: string[];
  content: string;
  promptTokens: number;
  completionTokens: number;
  finishReason: FinishReason;
  /** Set when the answer is a tool call (then `words` is empty). */
  toolCall?: PlannedToolCall;
}

/** Minimal view of a chat request the planner needs. */
export interface PlanInput {
  messages: readonly unknown[];
  max_tokens?: unknown;
  max_completion_tokens?: unknown;
  tools?: unknown;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Number of characters a message `content` contributes to the prompt token count. */
export function contentChars(content: unknown): number {
  if (typeof content === 'string') return content.length;
  if (Array.isArray(content)) {
    let n = 0;
    for (const part of content) {
      if (typeof part === 'string') n += part.length;
      else if (isRecord(part) && typeof part.text === 'string') n += part.text.length;
    }
    return n;
  }
  return 0;
}

/** Text of a message content: a string as-is, text parts joined by a single space. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    const texts: string[] = [];
    for (const part of content) {
      if (typeof part === 'string') texts.push(part);
      else if (isRecord(part) && typeof part.text === 'string') texts.push(part.text);
    }
    return texts.join(' ');
  }
  return '';
}

/**
 * Prompt token count, using the simulator's rule:
 * `ceil(total content characters / 4) + 3 per message`.
 */
export function countPromptTokens(messages: readonly unknown[]): number {
  let chars = 0;
  for (const m of messages) {
    if (isRecord(m)) chars += contentChars(m.content);
  }
  return Math.ceil(chars / 4) + 3 * messages.length;
}

const isToolResult = (m: unknown): m is Record<string, unknown> => isRecord(m) && (m.role === 'tool' || m.role === 'function');

/**
 * Text of the last message with role "user" ('' if there is none), or of the
 * trailing tool results when the conversation ends with them.
 */
export function lastUserText(messages: readonly unknown[]): string {
  let first = messages.length;
  while (first > 0 && isToolResult(messages[first - 1])) first--;
  if (first < messages.length) {
    return messages
      .slice(first)
      .map((m) => contentText((m as Record<string, unknown>).content))
      .join(' ');
  }
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (isRecord(m) && m.role === 'user') return contentText(m.content);
  }
  return '';
}

/** Echoed fragment: first ECHO_CHARS code points of the text, whitespace collapsed. */
export function echoFragment(text: string): string {
  // Only look at a bounded prefix so huge prompts stay cheap.
  const head = text
    .trimStart()
    .slice(0, ECHO_CHARS * 4)
    .replace(/\s+/g, ' ');
  return Array.from(head).slice(0, ECHO_CHARS).join('').trim();
}

/** Number of completion tokens requested via `[sim:tokens=N]`, or undefined. */
export function requestedTokens(userText: string): number | undefined {
  const m = TOKENS_MARKER.exec(userText);
  if (!m || m[1] === undefined) return undefined;
  const n = Number.parseInt(m[1], 10);
  if (!Number.isFinite(n)) return undefined;
  return Math.min(n, MAX_SIM_TOKENS);
}

/** The first `count` words of the deterministic response for `userText`. */
export function responseWords(userText: string, count: number): string[] {
  const echo = echoFragment(userText);
  const base = echo === '' ? [...GREETING_WORDS] : [...GREETING_WORDS, ...echo.split(' ')];
  if (count <= base.length) return base.slice(0, Math.max(0, count));
  const words = base;
  for (let i = 0; words.length < count; i++) {
    words.push(PADDING_WORDS[i % PADDING_WORDS.length] as string);
  }
  return words;
}

/** Name of the first declared function tool, or undefined. */
export function firstFunctionName(tools: unknown): string | undefined {
  if (!Array.isArray(tools)) return undefined;
  for (const t of tools) {
    if (isRecord(t) && t.type === 'function' && isRecord(t.function) && typeof t.function.name === 'string') return t.function.name;
  }
  return undefined;
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : undefined;
}

/**
 * Everything the simulator will answer for a (valid) chat completion request:
 * text, prompt/completion token counts and finish reason.
 */
export function planCompletion(req: PlanInput): CompletionPlan {
  const userText = lastUserText(req.messages);
  const tool = userText.includes(SIM_TOOL_MARKER) ? firstFunctionName(req.tools) : undefined;
  if (tool !== undefined) {
    return {
      words: [],
      content: '',
      promptTokens: countPromptTokens(req.messages),
      completionTokens: TOOL_CALL_TOKENS,
      finishReason: 'tool_calls',
      toolCall: { name: tool, arguments: JSON.stringify({ echo: echoFragment(userText) }) },
    };
  }
  const target = requestedTokens(userText) ?? DEFAULT_COMPLETION_TOKENS;
  const limit = positiveInt(req.max_completion_tokens) ?? positiveInt(req.max_tokens);
  const truncated = limit !== undefined && limit < target;
  const n = truncated ? limit : target;
  const words = responseWords(userText, n);
  return {
    words,
    content: words.join(' '),
    promptTokens: countPromptTokens(req.messages),
    completionTokens: words.length,
    finishReason: truncated ? 'length' : 'stop',
  };
}
