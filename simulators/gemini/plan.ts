/**
 * What the Gemini-format simulator answers to a generateContent body, computed without a server
 * so tests can predict it. The rules are the ones every simulator of the project shares (see
 * simulators/openai/completion.ts for the word list and the echo), read from Gemini's shapes:
 *
 *  - Messages are the `contents` entries, plus one for `systemInstruction` when present.
 *  - The text of a message is its text parts and, for function responses, the JSON text of each
 *    `response` object, joined by single spaces. Prompt tokens are
 *    `ceil(characters of all message text / 4) + 3 * messages`.
 *  - The last user text is the text of the last turn whose role is not `model`.
 *  - Answer: `SIM_GREETING echo padding…`, DEFAULT_COMPLETION_TOKENS words or `[sim:tokens=N]`,
 *    cut to `generationConfig.maxOutputTokens` (finish MAX_TOKENS). One word is one token.
 *  - With at least one function declared and `[sim:tool]` in the last user text, the answer is one
 *    call to the first declared function with args `{"echo": <echo>}`, 12 output tokens.
 *
 * Both Gemini spellings of field names are read (`systemInstruction` / `system_instruction`).
 */
import { DEFAULT_COMPLETION_TOKENS, echoFragment, requestedTokens, responseWords } from '../openai/completion.js';

export const SIM_TOOL_MARKER = '[sim:tool]';
/** Output tokens reported for a function call answer. */
export const TOOL_CALL_TOKENS = 12;

export interface TextPlan {
  kind: 'text';
  /** The answer split into tokens; `text === words.join(' ')`. */
  words: string[];
  text: string;
  promptTokens: number;
  outputTokens: number;
  finishReason: 'STOP' | 'MAX_TOKENS';
}

export interface ToolPlan {
  kind: 'tool';
  call: { name: string; args: { echo: string } };
  promptTokens: number;
  outputTokens: number;
  finishReason: 'STOP';
}

export type GeminiPlan = TextPlan | ToolPlan;

type Obj = Record<string, unknown>;

const isRecord = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const snake = (camel: string) => camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** A field by its camelCase name or its snake_case twin. */
export function field(o: unknown, camel: string): unknown {
  if (!isRecord(o)) return undefined;
  return o[camel] ?? o[snake(camel)];
}

function partTexts(content: unknown): string[] {
  const parts = field(content, 'parts');
  if (!Array.isArray(parts)) return [];
  const out: string[] = [];
  for (const p of parts) {
    const text = field(p, 'text');
    if (typeof text === 'string') out.push(text);
    const response = field(field(p, 'functionResponse'), 'response');
    if (response !== undefined) out.push(JSON.stringify(response));
  }
  return out;
}

export const contentText = (content: unknown): string => partTexts(content).join(' ');

const contentChars = (content: unknown): number => partTexts(content).reduce((n, t) => n + t.length, 0);

const contentsOf = (body: unknown): unknown[] => {
  const c = field(body, 'contents');
  return Array.isArray(c) ? c : [];
};

export function countPromptTokens(body: unknown): number {
  const contents = contentsOf(body);
  const system = field(body, 'systemInstruction');
  const messages = contents.length + (system === undefined || system === null ? 0 : 1);
  let chars = contents.reduce<number>((n, c) => n + contentChars(c), 0);
  if (system !== undefined && system !== null) chars += contentChars(system);
  return Math.ceil(chars / 4) + 3 * messages;
}

export function lastUserText(body: unknown): string {
  const contents = contentsOf(body);
  for (let i = contents.length - 1; i >= 0; i--) {
    if (field(contents[i], 'role') !== 'model') return contentText(contents[i]);
  }
  return '';
}

/** Name of the first function declared in `tools`, if any. */
export function firstFunction(body: unknown): string | undefined {
  const tools = field(body, 'tools');
  if (!Array.isArray(tools)) return undefined;
  for (const t of tools) {
    const decls = field(t, 'functionDeclarations');
    if (!Array.isArray(decls)) continue;
    for (const d of decls) {
      const name = field(d, 'name');
      if (typeof name === 'string' && name !== '') return name;
    }
  }
  return undefined;
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : undefined;
}

export function planGemini(body: unknown): GeminiPlan {
  const userText = lastUserText(body);
  const promptTokens = countPromptTokens(body);
  const fn = firstFunction(body);
  if (fn !== undefined && userText.includes(SIM_TOOL_MARKER)) {
    return { kind: 'tool', call: { name: fn, args: { echo: echoFragment(userText) } }, promptTokens, outputTokens: TOOL_CALL_TOKENS, finishReason: 'STOP' };
  }
  const target = requestedTokens(userText) ?? DEFAULT_COMPLETION_TOKENS;
  const limit = positiveInt(field(field(body, 'generationConfig'), 'maxOutputTokens'));
  const truncated = limit !== undefined && limit < target;
  const words = responseWords(userText, truncated ? limit : target);
  return { kind: 'text', words, text: words.join(' '), promptTokens, outputTokens: words.length, finishReason: truncated ? 'MAX_TOKENS' : 'STOP' };
}
