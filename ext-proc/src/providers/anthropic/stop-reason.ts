import type { FinishReason } from '../canonical/types.js';

export type AnthropicStopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'refusal' | 'pause_turn' | 'model_context_window_exceeded';

/**
 * `pause_turn` (a server tool paused a long turn) ends the answer the caller gets like a normal
 * stop; running out of context window is a length stop in every other format. A missing or
 * unknown reason reads as a normal stop rather than failing an otherwise good answer.
 */
export function fromAnthropicStopReason(reason: unknown): FinishReason {
  switch (reason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop';
  }
}

/** An `error` finish has no Anthropic reason; the stream's error event (if any) tells the caller. */
export function toAnthropicStopReason(reason: FinishReason): AnthropicStopReason {
  switch (reason) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}
