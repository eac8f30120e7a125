import { z } from 'zod';
import { GatewayError } from '../../errors.js';
import type { CanonicalMessage, CanonicalRequest, CanonicalTool, Part, ResponseFormat } from '../canonical/types.js';
import { MAX_JSON_DEPTH } from '../../util/json-depth.js';
import { argumentsObject, argumentsText, type ArgumentsObject } from './arguments.js';
import { toolCallId } from './ids.js';
import { isBase64, sniffMediaType } from './images.js';

/*
 * Ollama `POST /api/chat` bodies. Types are checked as strictly as Ollama checks them (it
 * refuses a wrongly typed option), values no stricter: Ollama itself accepts any temperature,
 * and a backend of another format validates ranges its own way. Unknown fields pass: Ollama
 * ignores them and adds new ones often.
 */

const Base64Image = z
  .string()
  .refine((s) => !s.startsWith('data:'), 'images are bare base64 strings, without a data: URL prefix')
  .refine(isBase64, 'images must be base64 encoded');

const ToolCall = z
  .object({
    type: z.literal('function').optional(),
    function: z
      .object({
        index: z.number().int().nonnegative().optional(),
        name: z.string().min(1),
        // Ollama reads a missing or null arguments map as no arguments.
        arguments: z.record(z.string(), z.unknown()).nullable().optional(),
      })
      .loose(),
  })
  .loose();

const Message = z
  .object({
    role: z.enum(['system', 'user', 'assistant', 'tool']),
    // Ollama decodes a missing or null content as "".
    content: z.string().nullable().optional(),
    images: z.array(Base64Image).nullable().optional(),
    tool_calls: z.array(ToolCall).nullable().optional(),
    tool_name: z.string().nullable().optional(),
    thinking: z.string().nullable().optional(),
  })
  .loose();

const Tool = z
  .object({
    type: z.literal('function').optional(),
    function: z
      .object({
        name: z.string().min(1),
        description: z.string().nullable().optional(),
        parameters: z.record(z.string(), z.unknown()).nullable().optional(),
      })
      .loose(),
  })
  .loose();

// Ollama skips options set to null.
const Options = z
  .object({
    num_predict: z.number().int().nullable().optional(),
    temperature: z.number().nullable().optional(),
    top_p: z.number().nullable().optional(),
    top_k: z.number().int().nullable().optional(),
    stop: z.array(z.string()).nullable().optional(),
    seed: z.number().int().nullable().optional(),
    presence_penalty: z.number().nullable().optional(),
    frequency_penalty: z.number().nullable().optional(),
  })
  .loose();

export const OllamaChatRequest = z
  .object({
    model: z.string().min(1, 'model is required'),
    // An empty list asks Ollama to load the model; the gateway serves chats, not model residency.
    messages: z.array(Message).min(1, 'messages must contain at least one message'),
    stream: z.boolean().nullable().optional(),
    format: z
      .union([z.literal('json'), z.literal(''), z.record(z.string(), z.unknown())])
      .nullable()
      .optional(),
    options: Options.nullable().optional(),
    tools: z.array(Tool).nullable().optional(),
    keep_alive: z.union([z.string(), z.number()]).nullable().optional(),
    think: z
      .union([z.boolean(), z.enum(['high', 'medium', 'low'])])
      .nullable()
      .optional(),
    logprobs: z.boolean().nullable().optional(),
    top_logprobs: z.number().int().nullable().optional(),
  })
  .loose();

export type OllamaChatRequest = z.infer<typeof OllamaChatRequest>;

/**
 * Sampler options that change the answer but that no other format can express: honoured by an
 * Ollama backend, refused when the call is translated.
 */
const SAMPLER_ONLY_OPTIONS = [
  'num_keep',
  'min_p',
  'typical_p',
  'tfs_z',
  'repeat_last_n',
  'repeat_penalty',
  'mirostat',
  'mirostat_tau',
  'mirostat_eta',
  'penalize_newline',
] as const;

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', `Invalid value for '${param}': ${message}`, { param, code: 'invalid_value' });
}

/** Validates a parsed body; throws a 400 GatewayError naming the first bad field. */
export function validateOllamaRequest(body: unknown): OllamaChatRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new GatewayError('invalid_request', 'The request body must be a JSON object.');
  }
  const r = OllamaChatRequest.safeParse(body);
  if (r.success) return r.data;
  const first = r.error.issues[0];
  if (!first) throw new GatewayError('invalid_request', 'Invalid request body.');
  throw invalid(formatPath(first.path) || 'body', first.message);
}

/** An Ollama chat body as the canonical request. Streaming is Ollama's default. */
export function parseOllamaRequest(body: unknown): CanonicalRequest {
  const req = validateOllamaRequest(body);
  const sameFormatOnly: string[] = [];
  const system: string[] = [];
  const messages: CanonicalMessage[] = [];

  // Ollama tool calls have no ids: number them in order, and let each tool result answer a
  // call of the latest assistant turn, by tool_name when given, else the oldest unanswered one.
  let calls = 0;
  let pending: Array<{ id: string; name: string }> = [];

  req.messages.forEach((m, i) => {
    const content = m.content ?? '';
    const images = m.images ?? [];
    const toolCalls = m.tool_calls ?? [];
    if (images.length > 0 && m.role !== 'user') sameFormatOnly.push(`messages[${i}].images`);
    if (toolCalls.length > 0 && m.role !== 'assistant') sameFormatOnly.push(`messages[${i}].tool_calls`);

    switch (m.role) {
      case 'system':
        if (content !== '') system.push(content);
        return;
      case 'user':
        messages.push({ role: 'user', content: userParts(content, images) });
        return;
      case 'assistant': {
        const parts: Part[] = content !== '' || toolCalls.length === 0 ? [{ type: 'text', text: content }] : [];
        pending = [];
        for (const tc of toolCalls) {
          const id = toolCallId(calls++);
          pending.push({ id, name: tc.function.name });
          parts.push({ type: 'tool_call', id, name: tc.function.name, arguments: argumentsText(tc.function.arguments) });
        }
        messages.push({ role: 'assistant', content: parts });
        return;
      }
      case 'tool': {
        const wanted = m.tool_name ?? undefined;
        const at = wanted !== undefined ? pending.findIndex((p) => p.name === wanted) : pending.length > 0 ? 0 : -1;
        const call = at >= 0 ? pending.splice(at, 1)[0] : undefined;
        // A result that answers no call keeps an id of its own; a backend that needs the pairing refuses it.
        const id = call?.id ?? toolCallId(calls++);
        const name = wanted ?? call?.name;
        messages.push({
          role: 'tool',
          content: [{ type: 'tool_result', toolCallId: id, ...(name !== undefined ? { name } : {}), content }],
        });
        return;
      }
    }
  });

  if (req.think !== undefined && req.think !== null && req.think !== false) sameFormatOnly.push('think');
  if (req.logprobs === true) sameFormatOnly.push('logprobs');
  if (req.top_logprobs !== undefined && req.top_logprobs !== null) sameFormatOnly.push('top_logprobs');

  const out: CanonicalRequest = {
    model: req.model,
    messages,
    stream: req.stream ?? true,
    sameFormatOnly,
  };
  if (system.length > 0) out.system = system.join('\n\n');

  const o = req.options;
  if (o) {
    // num_predict -1 (no limit), -2 (fill the context) and 0 all leave the length open in Ollama.
    if (typeof o.num_predict === 'number' && o.num_predict > 0) out.maxTokens = o.num_predict;
    if (typeof o.temperature === 'number') out.temperature = o.temperature;
    if (typeof o.top_p === 'number') out.topP = o.top_p;
    // top_k 0 disables the filter, which is every other format's default.
    if (typeof o.top_k === 'number' && o.top_k > 0) out.topK = o.top_k;
    if (o.stop && o.stop.length > 0) out.stop = [...o.stop];
    if (typeof o.seed === 'number') out.seed = o.seed;
    if (typeof o.presence_penalty === 'number') out.presencePenalty = o.presence_penalty;
    if (typeof o.frequency_penalty === 'number') out.frequencyPenalty = o.frequency_penalty;
    const raw = o as Record<string, unknown>;
    for (const k of SAMPLER_ONLY_OPTIONS) if (raw[k] !== undefined && raw[k] !== null) sameFormatOnly.push(`options.${k}`);
  }

  if (req.tools && req.tools.length > 0) out.tools = req.tools.map(toCanonicalTool);
  const format = toResponseFormat(req.format);
  if (format) out.responseFormat = format;
  return out;
}

function userParts(content: string, images: readonly string[]): Part[] {
  const parts: Part[] = content !== '' || images.length === 0 ? [{ type: 'text', text: content }] : [];
  for (const data of images) parts.push({ type: 'image', source: { kind: 'base64', mediaType: sniffMediaType(data), data } });
  return parts;
}

function toCanonicalTool(t: z.infer<typeof Tool>): CanonicalTool {
  const out: CanonicalTool = { name: t.function.name };
  if (typeof t.function.description === 'string') out.description = t.function.description;
  if (t.function.parameters) out.parameters = t.function.parameters;
  return out;
}

function toResponseFormat(format: OllamaChatRequest['format']): ResponseFormat | undefined {
  if (format === 'json') return { type: 'json' };
  if (typeof format === 'object' && format !== null) return { type: 'json_schema', schema: format };
  return undefined;
}

// ---------------------------------------------------------------------------
// Canonical → Ollama

interface OutMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  images?: string[];
  tool_calls?: Array<{ type: 'function'; function: { name: string; arguments: ArgumentsObject } }>;
  tool_name?: string;
}

/**
 * The Ollama body for a canonical request. Refuses (400, naming the field) what Ollama cannot
 * be sent: image URLs, tool arguments that are not a JSON object, a forced tool choice.
 */
export function buildOllamaRequest(req: CanonicalRequest, upstreamModel: string): Record<string, unknown> {
  const messages: OutMessage[] = [];
  if (req.system !== undefined && req.system !== '') messages.push({ role: 'system', content: req.system });

  // Ollama pairs results with calls by function name; results that do not carry it borrow it from their call.
  const callNames = new Map<string, string>();
  req.messages.forEach((m, i) => {
    messages.push(...toOllamaMessages(m, i, callNames));
  });

  const body: Record<string, unknown> = { model: upstreamModel, messages, stream: req.stream };

  const choice = req.toolChoice;
  if (choice === 'required' || (typeof choice === 'object' && choice !== null)) {
    throw new GatewayError('invalid_request', "Ollama cannot force a tool call: tool_choice must be 'auto' or 'none' for this model.", {
      param: 'tool_choice',
      code: 'unsupported_value',
    });
  }
  // 'none' is honoured by not offering the tools at all.
  if (req.tools && req.tools.length > 0 && choice !== 'none') {
    body.tools = req.tools.map((t) => ({
      type: 'function',
      function: {
        name: t.name,
        ...(t.description !== undefined ? { description: t.description } : {}),
        ...(t.parameters !== undefined ? { parameters: t.parameters } : {}),
      },
    }));
  }

  if (req.responseFormat?.type === 'json') body.format = 'json';
  else if (req.responseFormat?.type === 'json_schema') body.format = req.responseFormat.schema;

  const options: Record<string, unknown> = {};
  if (req.maxTokens !== undefined) options.num_predict = req.maxTokens;
  if (req.temperature !== undefined) options.temperature = req.temperature;
  if (req.topP !== undefined) options.top_p = req.topP;
  if (req.topK !== undefined) options.top_k = req.topK;
  if (req.stop !== undefined && req.stop.length > 0) options.stop = [...req.stop];
  if (req.seed !== undefined) options.seed = req.seed;
  if (req.presencePenalty !== undefined) options.presence_penalty = req.presencePenalty;
  if (req.frequencyPenalty !== undefined) options.frequency_penalty = req.frequencyPenalty;
  if (Object.keys(options).length > 0) body.options = options;
  return body;
}

/**
 * One canonical message as Ollama messages: tool results become `tool` messages of their own
 * (before the rest of the turn, where Anthropic-style turns put them), everything else one message.
 */
function toOllamaMessages(m: CanonicalMessage, i: number, callNames: Map<string, string>): OutMessage[] {
  const results: OutMessage[] = [];
  const texts: string[] = [];
  const images: string[] = [];
  const toolCalls: NonNullable<OutMessage['tool_calls']> = [];

  m.content.forEach((part, j) => {
    const param = `messages[${i}].content[${j}]`;
    switch (part.type) {
      case 'text':
        texts.push(part.text);
        return;
      case 'image':
        if (part.source.kind === 'url') {
          throw new GatewayError('invalid_request', `Ollama accepts only base64 image data; the image URL in '${param}' cannot be sent.`, {
            param,
            code: 'unsupported_value',
          });
        }
        images.push(part.source.data);
        return;
      case 'tool_call': {
        const args = argumentsObject(part.arguments);
        if (args === undefined) {
          throw new GatewayError(
            'invalid_request',
            `Invalid value for '${param}.arguments': Ollama needs tool call arguments as a JSON object (nested at most ${MAX_JSON_DEPTH} levels).`,
            {
              param: `${param}.arguments`,
              code: 'invalid_value',
            },
          );
        }
        callNames.set(part.id, part.name);
        toolCalls.push({ type: 'function', function: { name: part.name, arguments: args } });
        return;
      }
      case 'tool_result': {
        const name = part.name ?? callNames.get(part.toolCallId);
        results.push({ role: 'tool', content: part.content, ...(name !== undefined ? { tool_name: name } : {}) });
        return;
      }
    }
  });

  if (m.role === 'tool') return results;
  const empty = texts.length === 0 && images.length === 0 && toolCalls.length === 0;
  if (empty && results.length > 0) return results;
  const msg: OutMessage = { role: m.role, content: texts.join('\n') };
  if (images.length > 0) msg.images = images;
  if (toolCalls.length > 0) msg.tool_calls = toolCalls;
  return [...results, msg];
}
