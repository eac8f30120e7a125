import { z } from 'zod';
import { GatewayError } from '../../errors.js';

/*
 * OpenAI Chat Completions request, validated as strictly as the API itself validates the fields
 * the gateway depends on. Unknown top-level fields pass through untouched: providers add
 * parameters faster than a gateway ships, and refusing them would break new SDK versions.
 */

const TextPart = z.object({ type: z.literal('text'), text: z.string() }).loose();
const ImagePart = z
  .object({ type: z.literal('image_url'), image_url: z.object({ url: z.string().min(1), detail: z.enum(['auto', 'low', 'high']).optional() }).loose() })
  .loose();
const AudioPart = z.object({ type: z.literal('input_audio'), input_audio: z.object({ data: z.string(), format: z.string() }).loose() }).loose();
const FilePart = z.object({ type: z.literal('file'), file: z.object({}).loose() }).loose();
const RefusalPart = z.object({ type: z.literal('refusal'), refusal: z.string() }).loose();
const ContentPart = z.discriminatedUnion('type', [TextPart, ImagePart, AudioPart, FilePart, RefusalPart]);

// Function tool calls are checked (other providers' translations depend on them); custom tool
// calls only need their type, the provider validates the rest.
const FunctionToolCall = z
  .object({
    id: z.string().min(1),
    type: z.literal('function'),
    function: z.object({ name: z.string().min(1), arguments: z.string() }).loose(),
  })
  .loose();
const CustomToolCall = z.object({ id: z.string().min(1), type: z.literal('custom'), custom: z.object({}).loose() }).loose();
const ToolCall = z.discriminatedUnion('type', [FunctionToolCall, CustomToolCall]);

const SystemMessage = z
  .object({ role: z.enum(['system', 'developer']), content: z.union([z.string(), z.array(TextPart).min(1)]), name: z.string().optional() })
  .loose();
const UserMessage = z.object({ role: z.literal('user'), content: z.union([z.string(), z.array(ContentPart).min(1)]), name: z.string().optional() }).loose();
const AssistantMessage = z
  .object({
    role: z.literal('assistant'),
    content: z.union([z.string(), z.array(z.union([TextPart, RefusalPart])), z.null()]).optional(),
    tool_calls: z.array(ToolCall).optional(),
    // Deprecated single function call, still documented and still sent by older clients.
    function_call: z
      .object({ name: z.string().min(1), arguments: z.string() })
      .loose()
      .nullable()
      .optional(),
    refusal: z.string().nullable().optional(),
    name: z.string().optional(),
  })
  .loose()
  .refine((m) => (m.content !== undefined && m.content !== null) || (m.tool_calls?.length ?? 0) > 0 || Boolean(m.function_call), {
    message: 'an assistant message needs content, tool_calls or function_call',
  });
const ToolMessage = z.object({ role: z.literal('tool'), content: z.union([z.string(), z.array(TextPart)]), tool_call_id: z.string().min(1) }).loose();
const FunctionMessage = z.object({ role: z.literal('function'), content: z.string().nullable(), name: z.string() }).loose();

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'function'] as const;

const Message = z.unknown().superRefine((m, ctx) => {
  // A plain discriminated union reports "invalid input" for an unknown role; say what is wrong instead.
  const role = (m as { role?: unknown } | null)?.role;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) {
    ctx.addIssue({ code: 'custom', message: 'each message must be an object' });
    return;
  }
  if (!ROLES.includes(role as (typeof ROLES)[number])) {
    ctx.addIssue({ code: 'custom', path: ['role'], message: `invalid role ${JSON.stringify(role)}: expected one of ${ROLES.join(', ')}` });
  }
});

const MESSAGE_SCHEMAS = {
  system: SystemMessage,
  developer: SystemMessage,
  user: UserMessage,
  assistant: AssistantMessage,
  tool: ToolMessage,
  function: FunctionMessage,
} as const;

const FunctionTool = z
  .object({
    type: z.literal('function'),
    function: z
      .object({
        name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'function names use a-z, A-Z, 0-9, _ and - (max 64)'),
        description: z.string().optional(),
        parameters: z.record(z.string(), z.unknown()).optional(),
        strict: z.boolean().nullable().optional(),
      })
      .loose(),
  })
  .loose();
const CustomTool = z.object({ type: z.literal('custom'), custom: z.object({ name: z.string().min(1) }).loose() }).loose();
const Tool = z.discriminatedUnion('type', [FunctionTool, CustomTool]);

const ToolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: z.string() }).loose() }).loose(),
  z.object({ type: z.literal('custom'), custom: z.object({ name: z.string() }).loose() }).loose(),
  z
    .object({
      type: z.literal('allowed_tools'),
      allowed_tools: z.object({ mode: z.enum(['auto', 'required']), tools: z.array(z.record(z.string(), z.unknown())) }).loose(),
    })
    .loose(),
]);

export const ChatCompletionRequest = z
  .object({
    model: z.string().min(1, 'model is required'),
    messages: z.array(Message).min(1, 'messages must contain at least one message'),
    stream: z.boolean().nullable().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullable().optional(),
    max_tokens: z.number().int().positive().nullable().optional(),
    max_completion_tokens: z.number().int().positive().nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    n: z.number().int().min(1).max(128).nullable().optional(),
    stop: z
      .union([z.string(), z.array(z.string()).max(4)])
      .nullable()
      .optional(),
    presence_penalty: z.number().min(-2).max(2).nullable().optional(),
    frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
    seed: z.number().int().nullable().optional(),
    user: z.string().optional(),
    tools: z.array(Tool).optional(),
    tool_choice: ToolChoice.optional(),
    parallel_tool_calls: z.boolean().optional(),
    response_format: z
      .object({ type: z.enum(['text', 'json_object', 'json_schema']) })
      .loose()
      .optional(),
  })
  .loose();

export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/** Validates a parsed body; throws a 400 GatewayError naming the first bad field. */
export function validateChatRequest(body: unknown): ChatCompletionRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new GatewayError('invalid_request', 'The request body must be a JSON object.');
  }
  if (isPlainChatRequest(body as Record<string, unknown>)) return body as ChatCompletionRequest;
  return validateWithSchema(body);
}

/** The full check, which also words the errors. */
export function validateWithSchema(body: unknown): ChatCompletionRequest {
  const top = ChatCompletionRequest.safeParse(body);
  if (!top.success) throw toGatewayError(top.error.issues);
  // Second pass per message with the schema of its role, so errors name the right fields.
  for (const [i, m] of top.data.messages.entries()) {
    const schema = MESSAGE_SCHEMAS[(m as { role: keyof typeof MESSAGE_SCHEMAS }).role];
    const r = schema.safeParse(m);
    if (!r.success) throw toGatewayError(r.error.issues.map((iss) => ({ ...iss, path: ['messages', i, ...iss.path] })));
  }
  return top.data;
}

/*
 * Most calls are text messages with scalar options. They are checked here by hand against the
 * same rules as the schema, on a shape the schema would pass through unchanged, because the
 * schema costs about a tenth of the processor's time per call. Anything else (content parts,
 * tools, stop lists, a field of the wrong type, …) returns false and gets the full schema, which
 * also words the errors. request.test.ts checks the two agree.
 */
const str = (v: unknown): boolean => typeof v === 'string';
const optStr = (v: unknown): boolean => v === undefined || typeof v === 'string';
const nullish = (v: unknown): boolean => v === undefined || v === null;
const inRange = (v: unknown, min: number, max: number): boolean => nullish(v) || (typeof v === 'number' && v >= min && v <= max);
const intAtLeast = (v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): boolean =>
  nullish(v) || (Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isPlainMessage(m: unknown): boolean {
  if (!isRecord(m) || !str(m.content) || !optStr(m.name)) return false;
  switch (m.role) {
    case 'system':
    case 'developer':
    case 'user':
      return true;
    case 'assistant':
      return m.tool_calls === undefined && m.function_call === undefined && (nullish(m.refusal) || str(m.refusal));
    default:
      return false;
  }
}

export function isPlainChatRequest(b: Record<string, unknown>): boolean {
  if (typeof b.model !== 'string' || b.model.length === 0) return false;
  const messages = b.messages;
  if (!Array.isArray(messages) || messages.length === 0) return false;
  for (const m of messages) if (!isPlainMessage(m)) return false;
  if (b.stop !== undefined || b.tools !== undefined || b.tool_choice !== undefined || b.response_format !== undefined) return false;
  const so = b.stream_options;
  return (
    (nullish(b.stream) || typeof b.stream === 'boolean') &&
    (nullish(so) || (isRecord(so) && (so.include_usage === undefined || typeof so.include_usage === 'boolean'))) &&
    intAtLeast(b.max_tokens, 1) &&
    intAtLeast(b.max_completion_tokens, 1) &&
    inRange(b.temperature, 0, 2) &&
    inRange(b.top_p, 0, 1) &&
    intAtLeast(b.n, 1, 128) &&
    inRange(b.presence_penalty, -2, 2) &&
    inRange(b.frequency_penalty, -2, 2) &&
    intAtLeast(b.seed, Number.MIN_SAFE_INTEGER) &&
    optStr(b.user) &&
    (b.parallel_tool_calls === undefined || typeof b.parallel_tool_calls === 'boolean')
  );
}

function toGatewayError(issues: readonly z.core.$ZodIssue[]): GatewayError {
  const first = issues[0];
  const param = first ? formatPath(first.path) : null;
  const message = first ? `Invalid value for '${param || 'body'}': ${first.message}` : 'Invalid request body.';
  return new GatewayError('invalid_request', message, { param, code: 'invalid_value' });
}
