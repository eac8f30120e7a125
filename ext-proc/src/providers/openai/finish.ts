import type { FinishReason } from '../canonical/types.js';

/**
 * OpenAI finish reasons to canonical. `function_call` is the deprecated single-call form of
 * `tool_calls`. Anything unknown becomes `stop`: the answer is complete, only its label is new.
 */
export function finishFromOpenAI(reason: unknown): FinishReason {
  switch (reason) {
    case 'length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    case 'content_filter':
      return 'content_filter';
    case 'error':
      return 'error';
    default:
      return 'stop';
  }
}

/**
 * Canonical finish reasons to OpenAI. `error` is not in OpenAI's own list but is the value
 * OpenAI-compatible routers (OpenRouter) use for the same case, so SDKs already tolerate it.
 */
export function finishToOpenAI(reason: FinishReason): string {
  return reason;
}
