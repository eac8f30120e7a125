import type { Usage } from '../../metering/usage.js';

/*
 * The gateway's own form of a chat call. Every wire format translates its requests, responses
 * and stream events to and from these types, so any caller format can reach any backend format
 * through one pivot (N formats need 2N translations, not N²).
 *
 * Rules every translator follows:
 * - Tool call ids are kept as the caller sent them. Formats without ids (Gemini, Ollama) get
 *   synthesised ids `call_<index>` on the way in, and tool results are matched back by id.
 * - `arguments` of a tool call is always a JSON text (an object serialised), never a parsed object.
 * - A field the target format cannot honour is either dropped (listed in that format's README
 *   section) or refused with a 400 naming the field; it is never silently reshaped.
 */

export type FormatId = 'openai' | 'anthropic' | 'gemini' | 'ollama';

export type ImageSource = { kind: 'url'; url: string } | { kind: 'base64'; mediaType: string; data: string };

export type Part =
  | { type: 'text'; text: string }
  | { type: 'image'; source: ImageSource }
  | { type: 'tool_call'; id: string; name: string; arguments: string }
  | {
      type: 'tool_result';
      toolCallId: string;
      /** The called function's name when known (Gemini and Ollama need it). */
      name?: string;
      /** Result as text; structured results are JSON text. */
      content: string;
      isError?: boolean;
    };

/**
 * `system` turns are folded into CanonicalRequest.system; messages alternate freely between
 * user and assistant. A `tool` message carries only tool_result parts.
 */
export interface CanonicalMessage {
  role: 'user' | 'assistant' | 'tool';
  content: Part[];
}

export interface CanonicalTool {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object. */
  parameters?: Record<string, unknown>;
}

export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

export type ResponseFormat = { type: 'text' } | { type: 'json' } | { type: 'json_schema'; name?: string; schema: Record<string, unknown>; strict?: boolean };

export interface CanonicalRequest {
  /** The model as the caller named it (for Gemini, taken from the URL path). */
  model: string;
  /** System prompt, already joined from every system/developer turn or block. */
  system?: string;
  messages: CanonicalMessage[];
  stream: boolean;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  stop?: string[];
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  tools?: CanonicalTool[];
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  responseFormat?: ResponseFormat;
  /** OpenAI stream_options.include_usage as the caller asked (other formats always report usage). */
  includeUsage?: boolean;
  /**
   * Fields of the caller's request (as paths, e.g. `n`, `generationConfig.candidateCount`) that the
   * canonical form does not carry. A backend of the caller's own format receives the caller's body
   * untouched and honours them; a call translated to another format is refused with a 400 naming
   * the first of them. Fields that are safe to drop (documented per format) are not listed.
   */
  sameFormatOnly: string[];
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'error';

export interface CanonicalResponse {
  id: string;
  /** The model the backend reports (translators render the caller-facing name they are given). */
  model: string;
  /** Text and tool_call parts, in order. */
  content: Part[];
  finishReason: FinishReason;
  usage?: Usage;
}

/**
 * A stream as a sequence of events, whatever its wire framing. Decoders emit them in this
 * order: `start`, then any mix of `text` / `tool_call_start` / `tool_call_delta`, then `finish`
 * and `usage` (either order, either may be missing if the backend stopped early).
 */
export type StreamEvent =
  | { type: 'start'; id: string; model: string }
  | { type: 'text'; text: string }
  /** `index` counts tool calls within the response from 0. */
  | { type: 'tool_call_start'; index: number; id: string; name: string }
  | { type: 'tool_call_delta'; index: number; arguments: string }
  | { type: 'finish'; reason: FinishReason }
  | { type: 'usage'; usage: Usage }
  /** The backend reported an error inside the stream (e.g. Anthropic `event: error`). */
  | { type: 'error'; message: string; status: number };

/** Turns the backend's stream bytes, chunk by chunk, into events. Framing may split anywhere. */
export interface StreamDecoder {
  push(chunk: Buffer): StreamEvent[];
  /** The stream ended: flush whatever complete event is still buffered. */
  end(): StreamEvent[];
}

export interface EncoderContext {
  /** Response id to present to the caller. */
  id: string;
  /** Model name to present to the caller. */
  model: string;
  /** Unix seconds, for formats that carry a creation time. */
  created: number;
  /** OpenAI only: emit the usage chunk (the caller asked for stream_options.include_usage). */
  includeUsage: boolean;
}

/** Turns events into the caller's stream bytes. */
export interface StreamEncoder {
  encode(events: StreamEvent[]): string;
  /**
   * Closes the caller's stream well-formed. `aborted`: the backend stream was cut off before its
   * end, so the encoder emits what its format uses to end a stream early (finish reason
   * `error`/an error event) rather than leaving a dangling half-message.
   */
  end(aborted: boolean): string;
}
