/**
 * vLLM's JSON shapes for the OpenAI-compatible API: chat completions, their SSE chunks, the
 * model list and errors. vLLM follows OpenAI's shapes with a few habits of its own that
 * clients meet in practice and are kept here: the last content token carries the finish
 * reason in the same chunk, choices carry `stop_reason`, usage has no detail objects, error
 * `code` is the numeric HTTP status and `type` an exception-like name.
 */
import { STATUS_CODES } from 'node:http';
import type { CompletionPlan } from '../openai/completion.js';
import { splitPieces } from '../openai/server.js';

export interface VllmErrorBody {
  error: { message: string; type: string; param: string | null; code: number };
}

/** vLLM names error types after the HTTP status: 404 NotFoundError, 503 ServiceUnavailableError. */
export function errorType(status: number): string {
  const phrase = STATUS_CODES[status] ?? 'Unknown';
  return `${phrase.replace(/[^A-Za-z]/g, '').replace(/Error$/, '')}Error`;
}

export function vllmError(status: number, message: string, param: string | null = null): VllmErrorBody {
  return { error: { message, type: errorType(status), param, code: status } };
}

export function modelNotFound(model: string): VllmErrorBody {
  return vllmError(404, `The model \`${model}\` does not exist.`, 'model');
}

export interface ChatMeta {
  id: string;
  created: number;
  /** The model name as requested: the base model or an adapter. */
  model: string;
  /** Id of the tool call, when the plan is one. */
  toolCallId: string;
}

export function usageBody(plan: CompletionPlan): Record<string, unknown> {
  return {
    prompt_tokens: plan.promptTokens,
    total_tokens: plan.promptTokens + plan.completionTokens,
    completion_tokens: plan.completionTokens,
    prompt_tokens_details: null,
  };
}

export function completionBody(meta: ChatMeta, plan: CompletionPlan): Record<string, unknown> {
  const message = plan.toolCall
    ? {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: meta.toolCallId, type: 'function', function: { name: plan.toolCall.name, arguments: plan.toolCall.arguments } }],
        reasoning_content: null,
      }
    : { role: 'assistant', content: plan.content, tool_calls: [], reasoning_content: null };
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: plan.finishReason, stop_reason: null }],
    usage: usageBody(plan),
    prompt_logprobs: null,
  };
}

/** One SSE event, due once the sequence has decoded `token` tokens (1-based). */
export interface StreamEvent {
  token: number;
  data: string;
}

/**
 * The events of a streamed answer up to its finish reason: the role chunk and the first
 * delta together with the first token, then one delta per token (a tool call's arguments in
 * a few pieces spread over its tokens).
 */
export function streamEvents(meta: ChatMeta, plan: CompletionPlan): StreamEvent[] {
  const prefix =
    `data: {"id":${JSON.stringify(meta.id)},"object":"chat.completion.chunk","created":${meta.created},` +
    `"model":${JSON.stringify(meta.model)},"choices":[{"index":0,"delta":`;
  const open = '"logprobs":null,"finish_reason":null}]}\n\n';
  const last = `"logprobs":null,"finish_reason":"${plan.finishReason}","stop_reason":null}]}\n\n`;

  const deltas: Array<{ token: number; delta: string }> = [];
  if (plan.toolCall) {
    const n = plan.completionTokens;
    deltas.push({
      token: 1,
      delta: JSON.stringify({ tool_calls: [{ id: meta.toolCallId, type: 'function', index: 0, function: { name: plan.toolCall.name, arguments: '' } }] }),
    });
    const pieces = splitPieces(plan.toolCall.arguments, 4);
    pieces.forEach((p, j) => {
      deltas.push({
        token: Math.max(1, Math.ceil(((j + 1) * n) / pieces.length)),
        delta: JSON.stringify({ tool_calls: [{ index: 0, function: { arguments: p } }] }),
      });
    });
  } else {
    plan.words.forEach((w, i) => {
      deltas.push({ token: i + 1, delta: JSON.stringify({ content: i > 0 ? ` ${w}` : w }) });
    });
  }
  // An empty answer still ends with a chunk that carries the finish reason.
  if (deltas.length === 0) deltas.push({ token: Math.max(1, plan.completionTokens), delta: '{"content":""}' });

  const events: StreamEvent[] = [{ token: 1, data: `${prefix}{"role":"assistant","content":""},${open}` }];
  deltas.forEach((d, i) => {
    events.push({ token: d.token, data: `${prefix}${d.delta},${i === deltas.length - 1 ? last : open}` });
  });
  return events;
}

export function usageEvent(meta: ChatMeta, plan: CompletionPlan): string {
  return `data: ${JSON.stringify({ id: meta.id, object: 'chat.completion.chunk', created: meta.created, model: meta.model, choices: [], usage: usageBody(plan) })}\n\n`;
}

export const DONE_EVENT = 'data: [DONE]\n\n';

function permission(created: number, seq: number): Record<string, unknown> {
  return {
    id: `modelperm-${seq.toString(16).padStart(32, '0')}`,
    object: 'model_permission',
    created,
    allow_create_engine: false,
    allow_sampling: true,
    allow_logprobs: true,
    allow_search_indices: false,
    allow_view: true,
    allow_fine_tuning: false,
    organization: '*',
    group: null,
    is_blocking: false,
  };
}

/** GET /v1/models: the base model, then each adapter with the base model as its `parent`. */
export function modelsBody(base: string, adapters: readonly string[], maxModelLen: number, created: number): Record<string, unknown> {
  const card = (id: string, parent: string | null, i: number): Record<string, unknown> => ({
    id,
    object: 'model',
    created,
    owned_by: 'vllm',
    root: id,
    parent,
    max_model_len: parent === null ? maxModelLen : null,
    permission: [permission(created, i + 1)],
  });
  return { object: 'list', data: [card(base, null, 0), ...adapters.map((a, i) => card(a, base, i + 1))] };
}
