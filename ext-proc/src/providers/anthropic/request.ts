import { z } from 'zod';
import { GatewayError } from '../../errors.js';
import { nestedDeeperThan, tooDeepMessage } from '../../util/json-depth.js';
import type { CanonicalMessage, CanonicalRequest, CanonicalTool, ImageSource, Part, ToolChoice } from '../canonical/types.js';

/*
 * Anthropic Messages request (POST /v1/messages), both directions:
 * - parseAnthropicRequest: a caller's body, validated the way the API validates the fields the
 *   gateway depends on, into the canonical form;
 * - buildAnthropicRequest: a canonical request into the body an Anthropic backend accepts.
 */

// Ids and names the API accepts in tool_use / tool_result blocks and tool definitions.
const TOOL_ID = /^[a-zA-Z0-9_-]+$/;
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,128}$/;

const TextBlock = z.object({ type: z.literal('text'), text: z.string() }).loose();
const ImageSourceSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('base64'), media_type: z.string().min(1), data: z.string().min(1) }).loose(),
  z.object({ type: z.literal('url'), url: z.string().min(1) }).loose(),
  z.object({ type: z.literal('file'), file_id: z.string().min(1) }).loose(),
]);
const ImageBlock = z.object({ type: z.literal('image'), source: ImageSourceSchema }).loose();
const ToolUseBlock = z
  .object({
    type: z.literal('tool_use'),
    id: z.string().regex(TOOL_ID, 'tool_use ids use a-z, A-Z, 0-9, _ and -'),
    name: z.string().min(1),
    input: z.record(z.string(), z.unknown()),
  })
  .loose();
const ToolResultBlock = z
  .object({
    type: z.literal('tool_result'),
    tool_use_id: z.string().regex(TOOL_ID, 'tool_use ids use a-z, A-Z, 0-9, _ and -'),
    content: z.union([z.string(), z.array(z.object({ type: z.string() }).loose())]).optional(),
    is_error: z.boolean().optional(),
  })
  .loose();

/** Blocks the gateway reads; any other block type passes validation and is left to the provider. */
const KNOWN_BLOCKS = { text: TextBlock, image: ImageBlock, tool_use: ToolUseBlock, tool_result: ToolResultBlock } as const;
type KnownBlockType = keyof typeof KNOWN_BLOCKS;

const AnyBlock = z.object({ type: z.string().min(1) }).loose();
const Message = z
  .object({
    role: z.enum(['user', 'assistant', 'system']),
    // Blocks are checked one by one afterwards, so an error names the block and its field.
    content: z.union([z.string(), z.array(z.unknown())]),
  })
  .loose();

const CustomTool = z
  .object({
    type: z.literal('custom').optional(),
    name: z.string().regex(TOOL_NAME, 'tool names use a-z, A-Z, 0-9, _ and - (max 128)'),
    description: z.string().optional(),
    input_schema: z.object({ type: z.literal('object') }).loose(),
  })
  .loose();
// Server tools (web search, bash, ...) are typed `<name>_<date>`; only the provider runs them.
const AnyTool = z.object({ type: z.string().optional(), name: z.string().min(1) }).loose();

const ToolChoiceSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('auto'), disable_parallel_tool_use: z.boolean().optional() }).loose(),
  z.object({ type: z.literal('any'), disable_parallel_tool_use: z.boolean().optional() }).loose(),
  z.object({ type: z.literal('tool'), name: z.string().min(1), disable_parallel_tool_use: z.boolean().optional() }).loose(),
  z.object({ type: z.literal('none') }).loose(),
]);

export const MessagesRequest = z
  .object({
    model: z.string().min(1),
    max_tokens: z.number().int().min(1),
    messages: z.array(Message).min(1),
    system: z.union([z.string(), z.array(TextBlock)]).optional(),
    temperature: z.number().min(0).max(1).optional(),
    top_p: z.number().min(0).max(1).optional(),
    top_k: z.number().int().min(0).optional(),
    stop_sequences: z.array(z.string()).optional(),
    stream: z.boolean().optional(),
    tools: z.array(AnyTool).optional(),
    tool_choice: ToolChoiceSchema.optional(),
    metadata: z.object({ user_id: z.string().nullable().optional() }).loose().optional(),
  })
  .loose();
export type MessagesRequest = z.infer<typeof MessagesRequest>;

/** Top-level fields read into the canonical form. */
const MAPPED = new Set(['model', 'max_tokens', 'messages', 'system', 'temperature', 'top_p', 'top_k', 'stop_sequences', 'stream', 'tools', 'tool_choice']);
/**
 * Top-level fields safe to drop when translating: abuse-tracking id, capacity tier and prompt-cache
 * hints change neither what is asked nor what is answered.
 */
const DROPPED = new Set(['metadata', 'service_tier', 'cache_control']);

// ---------------------------------------------------------------------------
// Validation

type Path = readonly PropertyKey[];

export function formatPath(path: Path): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

function valueAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** Anthropic words a missing field "Field required"; zod's default message says the type instead. */
function invalid(root: unknown, issues: readonly z.core.$ZodIssue[], prefix: Path = []): GatewayError {
  const first = issues[0];
  if (!first) return new GatewayError('invalid_request', 'Invalid request body.');
  const path = [...prefix, ...first.path];
  const param = formatPath(path);
  const missing = first.code === 'invalid_type' && valueAt(root, path) === undefined;
  const message = missing ? 'Field required' : first.message;
  return new GatewayError('invalid_request', param ? `${param}: ${message}` : message, { param: param || null });
}

function refuse(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', `${param}: ${message}`, { param });
}

/** Validates a parsed body; throws a 400 GatewayError naming the first bad field. */
export function validateMessagesRequest(body: unknown): MessagesRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new GatewayError('invalid_request', 'The request body must be a JSON object.');
  }
  const top = MessagesRequest.safeParse(body);
  if (!top.success) throw invalid(body, top.error.issues);
  const req = top.data;
  req.messages.forEach((m, i) => {
    const last = i === req.messages.length - 1;
    // The API lets only a final assistant turn (a prefill) be empty.
    if (m.content.length === 0 && !(last && m.role === 'assistant')) {
      throw refuse(`messages[${i}].content`, 'all messages must have non-empty content except for the optional final assistant message');
    }
    if (typeof m.content === 'string') return;
    const blocks = z.array(AnyBlock).safeParse(m.content);
    if (!blocks.success) throw invalid(body, blocks.error.issues, ['messages', i, 'content']);
    if (m.role === 'system') {
      const r = z.array(TextBlock).safeParse(m.content);
      if (!r.success) throw invalid(body, r.error.issues, ['messages', i, 'content']);
      return;
    }
    blocks.data.forEach((block, j) => {
      if (!Object.hasOwn(KNOWN_BLOCKS, block.type)) return;
      const r = KNOWN_BLOCKS[block.type as KnownBlockType].safeParse(block);
      if (!r.success) throw invalid(body, r.error.issues, ['messages', i, 'content', j]);
    });
  });
  req.tools?.forEach((t, i) => {
    if (t.type !== undefined && t.type !== 'custom') return;
    const r = CustomTool.safeParse(t);
    if (!r.success) throw invalid(body, r.error.issues, ['tools', i]);
  });
  return req;
}

// ---------------------------------------------------------------------------
// Anthropic body -> canonical

type Block = z.infer<typeof AnyBlock>;

function textOfBlocks(blocks: readonly { type: string; text?: unknown }[]): string {
  return blocks.map((b) => (typeof b.text === 'string' ? b.text : '')).join('\n');
}

function imageSource(source: z.infer<typeof ImageSourceSchema>): ImageSource | undefined {
  if (source.type === 'base64') return { kind: 'base64', mediaType: source.media_type, data: source.data };
  if (source.type === 'url') return { kind: 'url', url: source.url };
  return undefined;
}

/**
 * One Anthropic turn as canonical messages. Tool results in a user turn become a `tool` message
 * placed first (other formats want results right after the calls), the rest stays a user message.
 */
function convertTurn(
  role: 'user' | 'assistant',
  blocks: readonly Block[],
  i: number,
  toolNames: Map<string, string>,
  sameFormatOnly: string[],
): CanonicalMessage[] {
  const results: Part[] = [];
  const parts: Part[] = [];
  blocks.forEach((raw, j) => {
    const path = `messages[${i}].content[${j}]`;
    switch (raw.type) {
      case 'text':
        parts.push({ type: 'text', text: (raw as z.infer<typeof TextBlock>).text });
        return;
      case 'image': {
        const src = imageSource((raw as z.infer<typeof ImageBlock>).source);
        if (src) parts.push({ type: 'image', source: src });
        else sameFormatOnly.push(`${path}.source`);
        return;
      }
      case 'tool_use': {
        const b = raw as z.infer<typeof ToolUseBlock>;
        toolNames.set(b.id, b.name);
        parts.push({ type: 'tool_call', id: b.id, name: b.name, arguments: JSON.stringify(b.input) });
        return;
      }
      case 'tool_result': {
        const b = raw as z.infer<typeof ToolResultBlock>;
        let content = '';
        if (typeof b.content === 'string') content = b.content;
        else if (b.content) {
          b.content.forEach((c, k) => {
            if (c.type !== 'text') sameFormatOnly.push(`${path}.content[${k}]`);
          });
          content = textOfBlocks(b.content.filter((c) => c.type === 'text'));
        }
        const name = toolNames.get(b.tool_use_id);
        results.push({
          type: 'tool_result',
          toolCallId: b.tool_use_id,
          ...(name !== undefined ? { name } : {}),
          content,
          ...(b.is_error !== undefined ? { isError: b.is_error } : {}),
        });
        return;
      }
      default:
        // thinking, documents, server tool blocks, ...: only an Anthropic backend understands them.
        sameFormatOnly.push(path);
    }
  });
  const out: CanonicalMessage[] = [];
  if (results.length > 0) out.push({ role: 'tool', content: results });
  if (parts.length > 0) out.push({ role, content: parts });
  return out;
}

function convertTools(tools: MessagesRequest['tools'], sameFormatOnly: string[]): CanonicalTool[] | undefined {
  if (!tools) return undefined;
  const out: CanonicalTool[] = [];
  tools.forEach((t, i) => {
    if (t.type !== undefined && t.type !== 'custom') {
      sameFormatOnly.push(`tools[${i}]`);
      return;
    }
    const tool = t as z.infer<typeof CustomTool>;
    out.push({
      name: tool.name,
      ...(tool.description !== undefined ? { description: tool.description } : {}),
      parameters: tool.input_schema,
    });
  });
  return out;
}

function convertToolChoice(tc: MessagesRequest['tool_choice']): { toolChoice?: ToolChoice; parallelToolCalls?: boolean } {
  if (!tc) return {};
  const parallel = 'disable_parallel_tool_use' in tc && tc.disable_parallel_tool_use !== undefined ? { parallelToolCalls: !tc.disable_parallel_tool_use } : {};
  switch (tc.type) {
    case 'auto':
      return { toolChoice: 'auto', ...parallel };
    case 'any':
      return { toolChoice: 'required', ...parallel };
    case 'tool':
      return { toolChoice: { name: tc.name }, ...parallel };
    case 'none':
      return { toolChoice: 'none' };
  }
}

/** Validates a caller's Messages body and translates it to the canonical form. */
export function parseAnthropicRequest(body: unknown): CanonicalRequest {
  const req = validateMessagesRequest(body);
  const sameFormatOnly: string[] = [];
  for (const key of Object.keys(req)) {
    if (!MAPPED.has(key) && !DROPPED.has(key)) sameFormatOnly.push(key);
  }

  const systemParts: string[] = [];
  if (typeof req.system === 'string') systemParts.push(req.system);
  else if (req.system) systemParts.push(textOfBlocks(req.system));

  const messages: CanonicalMessage[] = [];
  const toolNames = new Map<string, string>();
  req.messages.forEach((m, i) => {
    if (m.role === 'system') {
      systemParts.push(typeof m.content === 'string' ? m.content : textOfBlocks(m.content as { type: string; text?: unknown }[]));
      return;
    }
    // An empty string is only allowed as a final assistant turn, where it adds nothing.
    const blocks = typeof m.content === 'string' ? (m.content === '' ? [] : [{ type: 'text', text: m.content }]) : (m.content as Block[]);
    messages.push(...convertTurn(m.role, blocks, i, toolNames, sameFormatOnly));
  });

  const system = systemParts.filter((s) => s !== '').join('\n');
  const tools = convertTools(req.tools, sameFormatOnly);
  return {
    model: req.model,
    ...(system !== '' ? { system } : {}),
    messages,
    stream: req.stream === true,
    maxTokens: req.max_tokens,
    ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
    ...(req.top_p !== undefined ? { topP: req.top_p } : {}),
    ...(req.top_k !== undefined ? { topK: req.top_k } : {}),
    ...(req.stop_sequences !== undefined ? { stop: req.stop_sequences } : {}),
    ...(tools !== undefined ? { tools } : {}),
    ...convertToolChoice(req.tool_choice),
    sameFormatOnly,
  };
}

// ---------------------------------------------------------------------------
// Canonical -> Anthropic body

/** Anthropic requires max_tokens; callers of other formats may leave it out. */
export const DEFAULT_MAX_TOKENS = 4096;

const DATA_URI = /^data:([^;,]+);base64,(.*)$/s;

function imageBlock(source: ImageSource): Record<string, unknown> {
  if (source.kind === 'base64') return { type: 'image', source: { type: 'base64', media_type: source.mediaType, data: source.data } };
  if (source.url.startsWith('data:')) {
    const m = DATA_URI.exec(source.url);
    if (!m) throw refuse('image_url', 'Anthropic accepts only base64 data URIs (data:<media type>;base64,<data>)');
    return { type: 'image', source: { type: 'base64', media_type: m[1], data: m[2] } };
  }
  return { type: 'image', source: { type: 'url', url: source.url } };
}

function toolInput(call: Extract<Part, { type: 'tool_call' }>): Record<string, unknown> {
  // A call without arguments is the empty object in every format.
  if (call.arguments.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(call.arguments);
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw refuse('tool_calls', `the arguments of tool call ${call.id} are not a JSON object, which Anthropic requires for tool_use input`);
  }
  // JSON text inside the body escapes the body's own depth check; the request is re-serialised.
  if (nestedDeeperThan(parsed)) {
    throw new GatewayError('invalid_request', tooDeepMessage(`The arguments of tool call ${call.id}`), { param: 'tool_calls', code: 'invalid_value' });
  }
  return parsed as Record<string, unknown>;
}

function block(part: Part): Record<string, unknown> | undefined {
  switch (part.type) {
    case 'text':
      // The API refuses empty text blocks; an empty text carries nothing.
      return part.text === '' ? undefined : { type: 'text', text: part.text };
    case 'image':
      return imageBlock(part.source);
    case 'tool_call':
      return { type: 'tool_use', id: part.id, name: part.name, input: toolInput(part) };
    case 'tool_result':
      return {
        type: 'tool_result',
        tool_use_id: part.toolCallId,
        // content is optional in the API; an empty result is sent without it.
        ...(part.content !== '' ? { content: part.content } : {}),
        ...(part.isError ? { is_error: true } : {}),
      };
  }
}

/** Anthropic turns alternate user/assistant: tool results ride in user turns and same-role neighbours merge. */
function buildMessages(messages: readonly CanonicalMessage[]): Array<{ role: 'user' | 'assistant'; content: Record<string, unknown>[] }> {
  const out: Array<{ role: 'user' | 'assistant'; content: Record<string, unknown>[] }> = [];
  for (const m of messages) {
    const role = m.role === 'assistant' ? 'assistant' : 'user';
    const blocks = m.content.map(block).filter((b): b is Record<string, unknown> => b !== undefined);
    if (blocks.length === 0) continue;
    const prev = out[out.length - 1];
    if (prev && prev.role === role) prev.content.push(...blocks);
    else out.push({ role, content: blocks });
  }
  return out;
}

function buildToolChoice(req: CanonicalRequest): Record<string, unknown> | undefined {
  const noParallel = req.parallelToolCalls === false ? { disable_parallel_tool_use: true } : {};
  const tc = req.toolChoice;
  if (tc === undefined) return req.parallelToolCalls === false ? { type: 'auto', ...noParallel } : undefined;
  if (tc === 'none') return { type: 'none' };
  if (tc === 'auto') return { type: 'auto', ...noParallel };
  if (tc === 'required') return { type: 'any', ...noParallel };
  return { type: 'tool', name: tc.name, ...noParallel };
}

/**
 * The Anthropic body for a canonical request. Refuses (400, naming the field) what Anthropic
 * cannot express: JSON output modes, temperature above 1, non-base64 data URIs, tool call
 * arguments that are not an object. Seed and penalties are dropped.
 */
export function buildAnthropicRequest(req: CanonicalRequest, upstreamModel: string): Record<string, unknown> {
  if (req.responseFormat && req.responseFormat.type !== 'text') {
    throw refuse('response_format', 'JSON output modes have no equivalent on Anthropic models');
  }
  if (req.temperature !== undefined && req.temperature > 1) {
    throw refuse('temperature', 'Anthropic models accept a temperature between 0 and 1');
  }
  const body: Record<string, unknown> = {
    model: upstreamModel,
    max_tokens: req.maxTokens ?? DEFAULT_MAX_TOKENS,
    messages: buildMessages(req.messages),
  };
  if (req.system) body.system = req.system;
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.topP !== undefined) body.top_p = req.topP;
  if (req.topK !== undefined) body.top_k = req.topK;
  if (req.stop && req.stop.length > 0) body.stop_sequences = req.stop;
  if (req.stream) body.stream = true;
  if (req.tools && req.tools.length > 0) {
    body.tools = req.tools.map((t) => ({
      name: t.name,
      ...(t.description !== undefined ? { description: t.description } : {}),
      // A function without declared parameters takes no arguments: the empty object schema.
      input_schema: t.parameters ?? { type: 'object', properties: {} },
    }));
    const choice = buildToolChoice(req);
    if (choice) body.tool_choice = choice;
  }
  return body;
}
