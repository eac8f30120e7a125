import { z } from 'zod';
import { GatewayError } from '../../errors.js';
import { nestedDeeperThan } from '../../util/json-depth.js';
import type { Usage } from '../../metering/usage.js';
import type { RenderContext } from '../canonical/format.js';
import type { CanonicalResponse, FinishReason, Part } from '../canonical/types.js';
import { argumentsObject, argumentsText, type ArgumentsObject } from './arguments.js';
import { newResponseId, toolCallId } from './ids.js';

const ToolCall = z
  .object({
    function: z.object({ name: z.string().min(1), arguments: z.record(z.string(), z.unknown()).nullable().optional() }).loose(),
  })
  .loose();

/** The assistant message of an answer or of one stream line. */
export const OllamaMessage = z
  .object({
    role: z.string().optional(),
    content: z.string().nullable().optional(),
    tool_calls: z.array(ToolCall).nullable().optional(),
    // Reasoning text has no place in the canonical answer (see README).
    thinking: z.string().nullable().optional(),
  })
  .loose();

/** One chat object: the whole non-stream answer, or one line of a stream. */
export const OllamaChatObject = z
  .object({
    model: z.string().optional(),
    created_at: z.string().optional(),
    message: OllamaMessage.nullable().optional(),
    done: z.boolean().optional(),
    done_reason: z.string().nullable().optional(),
    prompt_eval_count: z.number().nullable().optional(),
    eval_count: z.number().nullable().optional(),
  })
  .loose();

export type OllamaChatObject = z.infer<typeof OllamaChatObject>;
export type OllamaToolCall = z.infer<typeof ToolCall>;

/**
 * Ollama's done_reason in canonical terms. Ollama says `stop` for an answer that ends in tool
 * calls; `load`/`unload` (answers without generation) and reasons Ollama may add later read as `stop`.
 */
export function finishFromDoneReason(doneReason: string | null | undefined, hasToolCalls: boolean): FinishReason {
  if (doneReason === 'length') return 'length';
  return hasToolCalls ? 'tool_calls' : 'stop';
}

/** Canonical finish reason as Ollama's done_reason; tool calls end with `stop` in Ollama. */
export function doneReasonFor(reason: FinishReason): string {
  switch (reason) {
    case 'length':
      return 'length';
    case 'stop':
    case 'tool_calls':
      return 'stop';
    // No Ollama equivalent; the reason itself tells the caller more than a made-up `stop` would.
    case 'content_filter':
    case 'error':
      return reason;
  }
}

/** Usage from the final object's counts; undefined when Ollama reported neither. */
export function usageFrom(obj: Pick<OllamaChatObject, 'prompt_eval_count' | 'eval_count'>): Usage | undefined {
  const input = obj.prompt_eval_count;
  const output = obj.eval_count;
  if (typeof input !== 'number' && typeof output !== 'number') return undefined;
  // Ollama leaves a zero count out (Go omitempty), so a missing count is 0.
  return { inputTokens: input ?? 0, outputTokens: output ?? 0, cachedInputTokens: 0, reasoningTokens: 0 };
}

/** Tool calls as canonical parts, numbered from `first`. */
export function toolCallParts(calls: readonly OllamaToolCall[], first: number): Array<Extract<Part, { type: 'tool_call' }>> {
  return calls.map((c, k) => ({
    type: 'tool_call' as const,
    id: toolCallId(first + k),
    name: c.function.name,
    arguments: argumentsText(c.function.arguments),
  }));
}

/** The backend's non-stream answer; throws a 502 GatewayError when the body is not one. */
export function parseOllamaResponse(body: unknown): CanonicalResponse {
  const r = OllamaChatObject.safeParse(body);
  // Tool arguments are re-serialised as argument text, which would overflow the stack past the limit.
  if (!r.success || !r.data.message || nestedDeeperThan(body)) {
    throw new GatewayError('upstream', 'The Ollama backend returned a body that is not a chat response.');
  }
  const obj = r.data;
  const message = obj.message!;
  const content: Part[] = [];
  if (message.content) content.push({ type: 'text', text: message.content });
  const calls = message.tool_calls ?? [];
  content.push(...toolCallParts(calls, 0));
  const out: CanonicalResponse = {
    id: newResponseId(),
    model: obj.model ?? '',
    content,
    finishReason: finishFromDoneReason(obj.done_reason, calls.length > 0),
  };
  const usage = usageFrom(obj);
  if (usage) out.usage = usage;
  return out;
}

/** Ollama's RFC 3339 timestamp for a Unix time in seconds. */
export function createdAt(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString();
}

/**
 * A tool call for an Ollama caller. Arguments that are not a JSON object (a backend cut off in
 * the middle of them) cannot be expressed in Ollama's shape: 502 rather than invented arguments.
 */
export function ollamaToolCall(name: string, args: string): { function: { name: string; arguments: ArgumentsObject } } {
  const parsed = argumentsObject(args);
  if (parsed === undefined) {
    throw new GatewayError('upstream', `The backend returned arguments for tool '${name}' that are not a JSON object.`);
  }
  return { function: { name, arguments: parsed } };
}

/**
 * The caller's non-stream answer. The backend's durations are unknown here: they are 0. Token
 * counts are left out when the backend reported no usage, as Ollama leaves out zero counts.
 */
export function renderOllamaResponse(res: CanonicalResponse, ctx: RenderContext): Record<string, unknown> {
  const text = res.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('');
  const calls = res.content.flatMap((p) => (p.type === 'tool_call' ? [ollamaToolCall(p.name, p.arguments)] : []));
  const message: Record<string, unknown> = { role: 'assistant', content: text };
  if (calls.length > 0) message.tool_calls = calls;
  return {
    model: ctx.model,
    created_at: createdAt(ctx.created),
    message,
    done_reason: doneReasonFor(res.finishReason),
    done: true,
    total_duration: 0,
    load_duration: 0,
    ...(res.usage ? { prompt_eval_count: res.usage.inputTokens } : {}),
    prompt_eval_duration: 0,
    ...(res.usage ? { eval_count: res.usage.outputTokens } : {}),
    eval_duration: 0,
  };
}
