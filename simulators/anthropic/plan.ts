/**
 * What the Anthropic-format simulator answers, decided from the request alone. Pure, so tests can
 * compute the expected answer without a server. The rules are the ones every simulator shares:
 *
 * - Text: the OpenAI simulator's deterministic words for the last user text
 *   (greeting, echo, padding), DEFAULT_COMPLETION_TOKENS words unless `[sim:tokens=N]` asks for N;
 *   `max_tokens` truncates (stop_reason `max_tokens`). One word is one output token.
 * - Input tokens: ceil(C / 4) + 3 * M, where C counts the characters of every text in the request
 *   (system prompt, text blocks, tool results) and M the messages, the system prompt counting as one.
 * - Last user text: the text blocks of the last user turn; a turn that has only tool results
 *   uses their text instead (in other formats the results are a message of their own).
 * - Tool call: when tools are declared and the last user text contains `[sim:tool]`, the answer is
 *   one call of the first tool with input `{"echo": <echo of the last user text>}`, 12 output tokens.
 */
import { DEFAULT_COMPLETION_TOKENS, echoFragment, requestedTokens, responseWords } from '../openai/completion.js';

export const SIM_TOOL_MARKER = '[sim:tool]';
/** Output tokens reported for a tool call answer. */
export const TOOL_CALL_OUTPUT_TOKENS = 12;

export interface AnthropicPlanInput {
  system?: unknown;
  messages: readonly unknown[];
  max_tokens?: unknown;
  tools?: unknown;
}

interface PlanBase {
  inputTokens: number;
  outputTokens: number;
}

export type AnthropicPlan =
  | (PlanBase & { kind: 'text'; words: string[]; text: string; stopReason: 'end_turn' | 'max_tokens' })
  | (PlanBase & { kind: 'tool_use'; toolName: string; input: { echo: string }; stopReason: 'tool_use' });

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Texts of a `content` (string or blocks): text blocks, and the text of tool results when asked. */
function texts(content: unknown, kinds: { text: boolean; toolResults: boolean }): string[] {
  if (typeof content === 'string') return kinds.text ? [content] : [];
  if (!Array.isArray(content)) return [];
  const out: string[] = [];
  for (const block of content) {
    if (!isRecord(block)) continue;
    if (block.type === 'text' && kinds.text && typeof block.text === 'string') out.push(block.text);
    else if (block.type === 'tool_result' && kinds.toolResults) out.push(...texts(block.content, { text: true, toolResults: false }));
  }
  return out;
}

const ALL = { text: true, toolResults: true };
const chars = (parts: readonly string[]): number => parts.reduce((n, s) => n + s.length, 0);

function hasSystem(system: unknown): boolean {
  return (typeof system === 'string' && system !== '') || (Array.isArray(system) && system.length > 0);
}

export function countInputTokens(req: AnthropicPlanInput): number {
  let c = chars(texts(req.system, ALL));
  for (const m of req.messages) if (isRecord(m)) c += chars(texts(m.content, ALL));
  const messages = req.messages.length + (hasSystem(req.system) ? 1 : 0);
  return Math.ceil(c / 4) + 3 * messages;
}

export function lastUserText(messages: readonly unknown[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (!isRecord(m) || m.role !== 'user') continue;
    const own = texts(m.content, { text: true, toolResults: false });
    return (own.length > 0 ? own : texts(m.content, { text: false, toolResults: true })).join(' ');
  }
  return '';
}

function firstToolName(tools: unknown): string | undefined {
  if (!Array.isArray(tools)) return undefined;
  const first: unknown = tools[0];
  return isRecord(first) && typeof first.name === 'string' ? first.name : undefined;
}

export function planMessage(req: AnthropicPlanInput): AnthropicPlan {
  const inputTokens = countInputTokens(req);
  const userText = lastUserText(req.messages);
  const tool = firstToolName(req.tools);
  if (tool !== undefined && userText.includes(SIM_TOOL_MARKER)) {
    return {
      kind: 'tool_use',
      toolName: tool,
      input: { echo: echoFragment(userText) },
      inputTokens,
      outputTokens: TOOL_CALL_OUTPUT_TOKENS,
      stopReason: 'tool_use',
    };
  }
  const wanted = requestedTokens(userText) ?? DEFAULT_COMPLETION_TOKENS;
  const limit = typeof req.max_tokens === 'number' && Number.isInteger(req.max_tokens) && req.max_tokens >= 1 ? req.max_tokens : undefined;
  const truncated = limit !== undefined && limit < wanted;
  const words = responseWords(userText, truncated ? limit : wanted);
  return { kind: 'text', words, text: words.join(' '), inputTokens, outputTokens: words.length, stopReason: truncated ? 'max_tokens' : 'end_turn' };
}

/** One chunk per word, spaces kept on the following word so the chunks concatenate to the text. */
export function wordChunks(words: readonly string[]): string[] {
  return words.map((w, i) => (i === 0 ? w : ` ${w}`));
}

/** Splits a JSON text into `n` pieces at code point boundaries (never inside a surrogate pair). */
export function splitPieces(text: string, n: number): string[] {
  const points = Array.from(text);
  const size = Math.ceil(points.length / n);
  const out: string[] = [];
  for (let i = 0; i < points.length; i += size) out.push(points.slice(i, i + size).join(''));
  return out;
}
