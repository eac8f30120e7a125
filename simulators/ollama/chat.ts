/**
 * What the Ollama simulator answers to a chat body, and the JSON objects it answers with.
 *
 * The answer follows the rules every simulator shares (simulators/openai/completion.ts):
 * Ollama messages already have the shape those rules read (string `content`, roles
 * system/user/assistant/tool, the system prompt as a message), `options.num_predict` is the
 * output limit and `tools` are OpenAI-like function tools.
 */
import { planCompletion, type CompletionPlan } from '../openai/completion.js';

export interface ChatBody {
  model: string;
  messages: unknown[];
  stream?: unknown;
  options?: unknown;
  tools?: unknown;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The simulator's answer for a validated chat body. */
export function planOllamaChat(body: ChatBody): CompletionPlan {
  const numPredict = isRecord(body.options) ? body.options.num_predict : undefined;
  // Ollama does not insist on `type: "function"`; the shared planner does.
  const tools = Array.isArray(body.tools) ? body.tools.map((t) => (isRecord(t) ? { type: 'function', ...t } : t)) : undefined;
  return planCompletion({ messages: body.messages, max_tokens: numPredict, tools });
}

/** Ollama's done_reason: a tool call answer ends with `stop`, as a real Ollama reports it. */
export function doneReason(plan: CompletionPlan): 'stop' | 'length' {
  return plan.finishReason === 'length' ? 'length' : 'stop';
}

export function assistantMessage(plan: CompletionPlan): Record<string, unknown> {
  const message: Record<string, unknown> = { role: 'assistant', content: plan.content };
  if (plan.toolCall) {
    message.tool_calls = [{ function: { name: plan.toolCall.name, arguments: JSON.parse(plan.toolCall.arguments) as unknown } }];
  }
  return message;
}

/** Durations (nanoseconds) and counts of a finished answer. */
export interface Metrics {
  totalNs: number;
  loadNs: number;
  promptEvalNs: number;
  evalNs: number;
}

function metricsFields(plan: CompletionPlan, m: Metrics): Record<string, number> {
  return {
    total_duration: m.totalNs,
    load_duration: m.loadNs,
    prompt_eval_count: plan.promptTokens,
    prompt_eval_duration: m.promptEvalNs,
    eval_count: plan.completionTokens,
    eval_duration: m.evalNs,
  };
}

/** The whole non-stream answer. */
export function chatResponse(model: string, plan: CompletionPlan, m: Metrics, now = new Date()): Record<string, unknown> {
  return { model, created_at: now.toISOString(), message: assistantMessage(plan), done_reason: doneReason(plan), done: true, ...metricsFields(plan, m) };
}

/** One stream line before the end. */
export function chunkLine(model: string, message: Record<string, unknown>, now = new Date()): string {
  return `${JSON.stringify({ model, created_at: now.toISOString(), message, done: false })}\n`;
}

/** The last stream line, with the counts. */
export function doneLine(model: string, plan: CompletionPlan, m: Metrics, now = new Date()): string {
  return `${JSON.stringify({
    model,
    created_at: now.toISOString(),
    message: { role: 'assistant', content: '' },
    done_reason: doneReason(plan),
    done: true,
    ...metricsFields(plan, m),
  })}\n`;
}

/** Stream text pieces: one per word, the separating space kept in front so they concatenate to the text. */
export function wordPieces(plan: CompletionPlan): string[] {
  return plan.words.map((w, i) => (i === 0 ? w : ` ${w}`));
}
