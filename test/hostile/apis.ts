/*
 * Each inbound API as the corpus needs it: where a chat goes, how the key is sent, a valid body,
 * and the fields of its request with the JSON types and ranges the API documents for them.
 */
import type { Api } from './types.js';

/** The gateway key the suite's stack is seeded with (tenant `hostile`). */
export const KEY = 'gw-hostile-key-00000000000001';
/** The key the processor sends to the simulators; it must never reach a caller. */
export const PROVIDER_KEY = 'sk-sim-provider-key';
/** The stack's MAX_REQUEST_BYTES: small, so oversize bodies stay cheap. */
export const MAX_REQUEST_BYTES = 1024 * 1024;
/** Envoy buffers this much more than the processor's limit (envoy/bootstrap.ts envoyBufferLimit). */
export const ENVOY_EXTRA_BUFFER = 1024 * 1024;

/** A short, deterministic answer from every simulator. */
export const PROMPT = 'hostile probe [sim:tokens=2]';

/** One catalog model per backend API (no fallback chain), and a chained one. */
export const BACKEND_MODEL: Record<Api, string> = {
  openai: 'gpt-4o-mini',
  anthropic: 'claude-haiku-4-5',
  gemini: 'gemini-2.5-flash-lite',
  ollama: 'llama3.2',
};
/** openrouter → groq → gemini: a chain whose attempts time out on the stack's short idle timeout. */
export const CHAIN_MODEL = 'openrouter/meta-llama/llama-3.3-70b-instruct';
/** A backend of another API than the caller's, to drive the translation paths. */
export const CROSS_MODEL: Record<Api, string> = {
  openai: 'claude-haiku-4-5',
  anthropic: 'gpt-4o-mini',
  gemini: 'llama3.2',
  ollama: 'gemini-2.5-flash-lite',
};

type Json = null | boolean | number | string | Json[] | { [k: string]: Json | undefined };
export type JsonObject = { [k: string]: Json | undefined };
export type { Json };

/** What a field accepts, as the API documents it. */
export type FieldType =
  | 'string'
  | 'int'
  | 'number'
  | 'bool'
  | 'array'
  | 'object'
  /** a string or an array (message content, stop sequences) */
  | 'string|array'
  /** a string, an array or an object (tool choice) */
  | 'string|object'
  /** a string or a number (Ollama keep_alive) */
  | 'string|number'
  /** a bool or a string (Ollama think) */
  | 'bool|string';

export interface FieldSpec {
  /** Path from the body's root; numbers index arrays. */
  path: Array<string | number>;
  type: FieldType;
  nullable?: boolean;
  /** Numeric range the API documents (inclusive), for the numbers family. */
  min?: number;
  max?: number;
  /**
   * The API leaves this number's range to the model (Ollama options): any finite value (safe
   * integer for ints) is legal input, and the answer may be a success.
   */
  anyValue?: boolean;
}

export interface ApiSpec {
  api: Api;
  chatPath(model: string, stream: boolean): string;
  modelsPath: string;
  /** Headers of a call, key included (the API's own way of sending it). */
  headers(): Array<[string, string]>;
  /** A valid body for a chat with this model. The model is in the path for Gemini. */
  body(model: string, stream: boolean, prompt?: string): JsonObject;
  /** Sets the model of a body (Gemini: nothing, the model is in the path). */
  withModel(body: JsonObject, model: string): JsonObject;
  fields: FieldSpec[];
  /** Numeric fields for the numbers family (a subset of `fields`, plus stray fields). */
  numbers: FieldSpec[];
  /** A message / content list with n user texts, and where it goes. */
  manyMessages(n: number): JsonObject;
  /** One user message holding an image given as this API takes one, with `data` as its payload. */
  imageBody(model: string, data: string, mime: string): JsonObject;
  /** Where a tool list goes, and one tool with these parameters (a JSON schema). */
  withTools(body: JsonObject, tools: Array<{ name: string; parameters: Json }>): JsonObject;
  /** Where stop sequences go. */
  stopPath: Array<string | number>;
}

const GEMINI_BASE = '/v1beta/models';

export const API_SPECS: Record<Api, ApiSpec> = {
  openai: {
    api: 'openai',
    chatPath: () => '/v1/chat/completions',
    modelsPath: '/v1/models',
    headers: () => [
      ['authorization', `Bearer ${KEY}`],
      ['content-type', 'application/json'],
    ],
    body: (model, stream, prompt = PROMPT) => ({ model, messages: [{ role: 'user', content: prompt }], ...(stream ? { stream: true } : {}) }),
    withModel: (b, model) => ({ ...b, model }),
    fields: [
      { path: ['model'], type: 'string' },
      { path: ['messages'], type: 'array' },
      { path: ['messages', 0], type: 'object' },
      { path: ['messages', 0, 'role'], type: 'string' },
      { path: ['messages', 0, 'content'], type: 'string|array' },
      { path: ['messages', 0, 'name'], type: 'string' },
      { path: ['stream'], type: 'bool', nullable: true },
      { path: ['stream_options'], type: 'object', nullable: true },
      { path: ['max_tokens'], type: 'int', nullable: true, min: 1 },
      { path: ['max_completion_tokens'], type: 'int', nullable: true, min: 1 },
      { path: ['temperature'], type: 'number', nullable: true, min: 0, max: 2 },
      { path: ['top_p'], type: 'number', nullable: true, min: 0, max: 1 },
      { path: ['n'], type: 'int', nullable: true, min: 1, max: 128 },
      { path: ['stop'], type: 'string|array', nullable: true },
      { path: ['presence_penalty'], type: 'number', nullable: true, min: -2, max: 2 },
      { path: ['frequency_penalty'], type: 'number', nullable: true, min: -2, max: 2 },
      { path: ['seed'], type: 'int', nullable: true },
      { path: ['user'], type: 'string' },
      { path: ['tools'], type: 'array' },
      { path: ['tool_choice'], type: 'string|object' },
      { path: ['parallel_tool_calls'], type: 'bool' },
      { path: ['response_format'], type: 'object' },
    ],
    numbers: [
      { path: ['max_tokens'], type: 'int', min: 1 },
      { path: ['max_completion_tokens'], type: 'int', min: 1 },
      { path: ['temperature'], type: 'number', min: 0, max: 2 },
      { path: ['top_p'], type: 'number', min: 0, max: 1 },
      { path: ['n'], type: 'int', min: 1, max: 128 },
      { path: ['presence_penalty'], type: 'number', min: -2, max: 2 },
      { path: ['frequency_penalty'], type: 'number', min: -2, max: 2 },
      { path: ['seed'], type: 'int' },
    ],
    manyMessages: (n) => ({
      model: BACKEND_MODEL.openai,
      messages: Array.from({ length: n }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: i === n - 1 ? PROMPT : `m${i}` })),
    }),
    imageBody: (model, data, mime) => ({
      model,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: PROMPT },
            { type: 'image_url', image_url: { url: data.includes(':') ? data : `data:${mime};base64,${data}` } },
          ],
        },
      ],
    }),
    withTools: (b, tools) => ({ ...b, tools: tools.map((t) => ({ type: 'function', function: { name: t.name, parameters: t.parameters } })) }),
    stopPath: ['stop'],
  },

  anthropic: {
    api: 'anthropic',
    chatPath: () => '/v1/messages',
    modelsPath: '/v1/models',
    headers: () => [
      ['x-api-key', KEY],
      ['anthropic-version', '2023-06-01'],
      ['content-type', 'application/json'],
    ],
    body: (model, stream, prompt = PROMPT) => ({ model, max_tokens: 16, messages: [{ role: 'user', content: prompt }], ...(stream ? { stream: true } : {}) }),
    withModel: (b, model) => ({ ...b, model }),
    fields: [
      { path: ['model'], type: 'string' },
      { path: ['max_tokens'], type: 'int', min: 1 },
      { path: ['messages'], type: 'array' },
      { path: ['messages', 0], type: 'object' },
      { path: ['messages', 0, 'role'], type: 'string' },
      { path: ['messages', 0, 'content'], type: 'string|array' },
      { path: ['system'], type: 'string|array' },
      { path: ['temperature'], type: 'number', min: 0, max: 1 },
      { path: ['top_p'], type: 'number', min: 0, max: 1 },
      { path: ['top_k'], type: 'int', min: 0 },
      { path: ['stop_sequences'], type: 'array' },
      { path: ['stream'], type: 'bool' },
      { path: ['tools'], type: 'array' },
      { path: ['tool_choice'], type: 'object' },
      { path: ['metadata'], type: 'object' },
    ],
    numbers: [
      { path: ['max_tokens'], type: 'int', min: 1 },
      { path: ['temperature'], type: 'number', min: 0, max: 1 },
      { path: ['top_p'], type: 'number', min: 0, max: 1 },
      { path: ['top_k'], type: 'int', min: 0 },
    ],
    manyMessages: (n) => ({
      model: BACKEND_MODEL.anthropic,
      max_tokens: 16,
      messages: Array.from({ length: n }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: i === n - 1 ? PROMPT : `m${i}` })),
    }),
    imageBody: (model, data, mime) => ({
      model,
      max_tokens: 16,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: PROMPT },
            { type: 'image', source: { type: 'base64', media_type: mime, data } },
          ],
        },
      ],
    }),
    withTools: (b, tools) => ({ ...b, tools: tools.map((t) => ({ name: t.name, input_schema: t.parameters })) }),
    stopPath: ['stop_sequences'],
  },

  gemini: {
    api: 'gemini',
    chatPath: (model, stream) => `${GEMINI_BASE}/${model}:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`,
    modelsPath: GEMINI_BASE,
    headers: () => [
      ['x-goog-api-key', KEY],
      ['content-type', 'application/json'],
    ],
    body: (_model, _stream, prompt = PROMPT) => ({ contents: [{ role: 'user', parts: [{ text: prompt }] }] }),
    withModel: (b) => b,
    fields: [
      { path: ['contents'], type: 'array' },
      { path: ['contents', 0], type: 'object' },
      { path: ['contents', 0, 'role'], type: 'string', nullable: true },
      { path: ['contents', 0, 'parts'], type: 'array' },
      { path: ['contents', 0, 'parts', 0], type: 'object' },
      { path: ['contents', 0, 'parts', 0, 'text'], type: 'string' },
      { path: ['systemInstruction'], type: 'object', nullable: true },
      { path: ['generationConfig'], type: 'object', nullable: true },
      { path: ['generationConfig', 'maxOutputTokens'], type: 'int', nullable: true, min: 1 },
      { path: ['generationConfig', 'temperature'], type: 'number', nullable: true, min: 0, max: 2 },
      { path: ['generationConfig', 'topP'], type: 'number', nullable: true, min: 0, max: 1 },
      { path: ['generationConfig', 'topK'], type: 'number', nullable: true },
      { path: ['generationConfig', 'stopSequences'], type: 'array', nullable: true },
      { path: ['generationConfig', 'candidateCount'], type: 'int', nullable: true, min: 1 },
      { path: ['generationConfig', 'responseMimeType'], type: 'string', nullable: true },
      { path: ['tools'], type: 'array', nullable: true },
      { path: ['toolConfig'], type: 'object', nullable: true },
      { path: ['safetySettings'], type: 'array', nullable: true },
    ],
    numbers: [
      { path: ['generationConfig', 'maxOutputTokens'], type: 'int', min: 1 },
      { path: ['generationConfig', 'temperature'], type: 'number', min: 0, max: 2 },
      { path: ['generationConfig', 'topP'], type: 'number', min: 0, max: 1 },
      { path: ['generationConfig', 'topK'], type: 'number', min: Number.MIN_VALUE },
      { path: ['generationConfig', 'candidateCount'], type: 'int', min: 1 },
      { path: ['generationConfig', 'seed'], type: 'int' },
    ],
    manyMessages: (n) => ({
      contents: Array.from({ length: n }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'model', parts: [{ text: i === n - 1 ? PROMPT : `m${i}` }] })),
    }),
    imageBody: (_model, data, mime) => ({ contents: [{ role: 'user', parts: [{ text: PROMPT }, { inlineData: { mimeType: mime, data } }] }] }),
    withTools: (b, tools) => ({ ...b, tools: [{ functionDeclarations: tools.map((t) => ({ name: t.name, parameters: t.parameters })) }] }),
    stopPath: ['generationConfig', 'stopSequences'],
  },

  ollama: {
    api: 'ollama',
    chatPath: () => '/api/chat',
    modelsPath: '/api/tags',
    headers: () => [
      ['authorization', `Bearer ${KEY}`],
      ['content-type', 'application/json'],
    ],
    // Ollama streams unless told not to.
    body: (model, stream, prompt = PROMPT) => ({ model, stream, messages: [{ role: 'user', content: prompt }] }),
    withModel: (b, model) => ({ ...b, model }),
    fields: [
      { path: ['model'], type: 'string' },
      { path: ['messages'], type: 'array' },
      { path: ['messages', 0], type: 'object' },
      { path: ['messages', 0, 'role'], type: 'string' },
      { path: ['messages', 0, 'content'], type: 'string', nullable: true },
      { path: ['messages', 0, 'images'], type: 'array', nullable: true },
      { path: ['stream'], type: 'bool', nullable: true },
      { path: ['format'], type: 'string|object', nullable: true },
      { path: ['options'], type: 'object', nullable: true },
      { path: ['options', 'num_predict'], type: 'int', nullable: true },
      { path: ['options', 'temperature'], type: 'number', nullable: true },
      { path: ['options', 'top_p'], type: 'number', nullable: true },
      { path: ['options', 'top_k'], type: 'int', nullable: true },
      { path: ['options', 'stop'], type: 'array', nullable: true },
      { path: ['options', 'seed'], type: 'int', nullable: true },
      { path: ['tools'], type: 'array', nullable: true },
      { path: ['keep_alive'], type: 'string|number', nullable: true },
      { path: ['think'], type: 'bool|string', nullable: true },
    ],
    numbers: [
      { path: ['options', 'num_predict'], type: 'int', anyValue: true },
      { path: ['options', 'temperature'], type: 'number', anyValue: true },
      { path: ['options', 'top_p'], type: 'number', anyValue: true },
      { path: ['options', 'top_k'], type: 'int', anyValue: true },
      { path: ['options', 'seed'], type: 'int', anyValue: true },
    ],
    manyMessages: (n) => ({
      model: BACKEND_MODEL.ollama,
      stream: false,
      messages: Array.from({ length: n }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: i === n - 1 ? PROMPT : `m${i}` })),
    }),
    imageBody: (model, data) => ({ model, stream: false, messages: [{ role: 'user', content: PROMPT, images: [data] }] }),
    withTools: (b, tools) => ({ ...b, tools: tools.map((t) => ({ type: 'function', function: { name: t.name, parameters: t.parameters } })) }),
    stopPath: ['options', 'stop'],
  },
};

/** A deep copy of `body` with the value at `path` set (intermediate objects created). */
export function setAt(body: JsonObject, path: Array<string | number>, value: Json): JsonObject {
  const copy = structuredClone(body);
  let node = copy as Record<string | number, Json | undefined>;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    if (node[k] === undefined || node[k] === null || typeof node[k] !== 'object') node[k] = typeof path[i + 1] === 'number' ? [] : {};
    node = node[k] as Record<string | number, Json | undefined>;
  }
  node[path[path.length - 1]!] = value;
  return copy;
}

/** The body's JSON with the value at `path` replaced by raw JSON text (numbers JSON.stringify cannot write: 1e309, NaN, -0). */
export function withRaw(body: JsonObject, path: Array<string | number>, raw: string): string {
  const marker = '\u0000RAW\u0000';
  return JSON.stringify(setAt(body, path, marker)).replace(JSON.stringify(marker), raw);
}
