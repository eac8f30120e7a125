/*
 * The OpenAI Chat Completions response (`object: "chat.completion"`) as the cache stores it.
 * Only the fields the cache reads or writes are typed; a completion stored from a non-stream
 * response may carry more (e.g. `message.annotations: []`), and replayJson keeps them.
 */

/** `stop`, `length`, `tool_calls`, `content_filter`, `function_call` (deprecated functions); kept open for new values. */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call' | (string & {});

export interface ChatCompletionFunctionToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatCompletionMessage {
  role: 'assistant';
  content: string | null;
  refusal: string | null;
  /** Present only when the model called tools. */
  tool_calls?: ChatCompletionFunctionToolCall[];
  /** Deprecated single function call (`functions` / `function_call` requests). */
  function_call?: { name: string; arguments: string };
  [extra: string]: unknown;
}

/** One token's log probability; the cache passes these through as they came. */
export type ChatCompletionTokenLogprob = Record<string, unknown>;

export interface ChatCompletionLogprobs {
  content: ChatCompletionTokenLogprob[] | null;
  refusal: ChatCompletionTokenLogprob[] | null;
}

export interface ChatCompletionChoice {
  index: number;
  message: ChatCompletionMessage;
  finish_reason: FinishReason;
  logprobs: ChatCompletionLogprobs | null;
}

export interface ChatCompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: Record<string, unknown> | null;
  completion_tokens_details?: Record<string, unknown> | null;
  [extra: string]: unknown;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  system_fingerprint?: string | null;
  service_tier?: string | null;
  choices: ChatCompletionChoice[];
  usage?: ChatCompletionUsage | null;
  [extra: string]: unknown;
}
