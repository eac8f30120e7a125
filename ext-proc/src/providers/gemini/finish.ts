import type { FinishReason } from '../canonical/types.js';

const FILTERED = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY']);

/**
 * A candidate's `finishReason`. Gemini says STOP for a turn that ends in function calls too, so
 * whether the candidate called a function decides between stop and tool_calls.
 */
export function fromGeminiFinish(reason: string, calledFunctions: boolean): FinishReason {
  if (reason === 'MAX_TOKENS') return 'length';
  if (FILTERED.has(reason)) return 'content_filter';
  return reason === 'STOP' && calledFunctions ? 'tool_calls' : 'stop';
}

export type GeminiFinishReason = 'STOP' | 'MAX_TOKENS' | 'SAFETY' | 'OTHER' | 'MALFORMED_FUNCTION_CALL';

export function toGeminiFinish(reason: FinishReason): GeminiFinishReason {
  switch (reason) {
    case 'stop':
    case 'tool_calls':
      return 'STOP';
    case 'length':
      return 'MAX_TOKENS';
    case 'content_filter':
      return 'SAFETY';
    case 'error':
      return 'OTHER';
  }
}
