import { z } from 'zod';
import { GatewayError } from '../../errors.js';
import type { InboundContext } from '../canonical/format.js';
import type { CanonicalMessage, CanonicalRequest, CanonicalTool, Part, ResponseFormat, ToolChoice } from '../canonical/types.js';
import { imageMimeFromUrl, isImageMime } from './media.js';
import { normalizeRequest } from './normalize.js';
import { googleSchemaToJsonSchema } from './schema.js';

/*
 * A Gemini generateContent request (the body of `models/{model}:generateContent` and
 * `:streamGenerateContent`) validated and read into the canonical form. The model and whether to
 * stream come from the URL. Fields the canonical form cannot carry are listed in
 * `sameFormatOnly`; fields that are safe to drop (see README.md) are dropped.
 */

const Record_ = z.record(z.string(), z.unknown());

const InlineData = z.object({ mimeType: z.string().min(1), data: z.string() }).loose();
const FileData = z.object({ mimeType: z.string().nullish(), fileUri: z.string().min(1) }).loose();
const FunctionCall = z.object({ name: z.string().min(1), args: Record_.nullish(), id: z.string().nullish() }).loose();
const FunctionResponse = z.object({ name: z.string().min(1), response: Record_, id: z.string().nullish() }).loose();

const PartSchema = z
  .object({
    text: z.string().nullish(),
    inlineData: InlineData.nullish(),
    fileData: FileData.nullish(),
    functionCall: FunctionCall.nullish(),
    functionResponse: FunctionResponse.nullish(),
    thought: z.boolean().nullish(),
    thoughtSignature: z.string().nullish(),
  })
  .loose();

const ContentSchema = z
  .object({
    // `function` is the role older Gemini docs gave to turns of function responses.
    role: z.enum(['user', 'model', 'function'], { error: "role must be 'user' or 'model'" }).nullish(),
    parts: z.array(PartSchema).min(1, 'parts must not be empty'),
  })
  .loose();

const SystemInstruction = z.object({ parts: z.array(z.object({ text: z.string() }).loose()).min(1, 'parts must not be empty') }).loose();

const GenerationConfig = z
  .object({
    maxOutputTokens: z.number().int().positive().nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    topP: z.number().min(0).max(1).nullish(),
    topK: z.number().positive().nullish(),
    stopSequences: z.array(z.string()).max(5, 'at most 5 stop sequences').nullish(),
    seed: z.number().int().nullish(),
    presencePenalty: z.number().nullish(),
    frequencyPenalty: z.number().nullish(),
    responseMimeType: z.string().nullish(),
    responseSchema: Record_.nullish(),
    responseJsonSchema: z.unknown().optional(),
    candidateCount: z.number().int().min(1).nullish(),
  })
  .loose();

// Names must start with a letter or underscore; letters, digits, '_', '.', ':' and '-' follow.
const FUNCTION_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/;

const FunctionDeclaration = z
  .object({
    name: z.string().regex(FUNCTION_NAME, "function names start with a letter or '_' and use a-z, A-Z, 0-9, '_', '.', ':', '-' (max 128)"),
    description: z.string().nullish(),
    parameters: Record_.nullish(),
    parametersJsonSchema: Record_.nullish(),
  })
  .loose();

const Tool = z.object({ functionDeclarations: z.array(FunctionDeclaration).nullish() }).loose();

const upper = (v: unknown) => (typeof v === 'string' ? v.toUpperCase() : v);
const MODES = ['MODE_UNSPECIFIED', 'AUTO', 'ANY', 'NONE', 'VALIDATED'] as const;
const ToolConfig = z
  .object({
    functionCallingConfig: z
      .object({
        mode: z.preprocess(upper, z.enum(MODES)).nullish(),
        allowedFunctionNames: z.array(z.string()).nullish(),
      })
      .loose()
      .nullish(),
  })
  .loose();

export const GenerateContentRequest = z
  .object({
    contents: z
      .array(ContentSchema, { error: (iss) => (iss.input === undefined ? 'contents is required' : 'contents must be an array of Content objects') })
      .min(1, 'contents must not be empty'),
    systemInstruction: SystemInstruction.nullish(),
    generationConfig: GenerationConfig.nullish(),
    tools: z.array(Tool).nullish(),
    toolConfig: ToolConfig.nullish(),
    // Dropped: other backends have no per-category safety thresholds (see README).
    safetySettings: z.array(z.object({ category: z.string(), threshold: z.string() }).loose()).nullish(),
    cachedContent: z.string().nullish(),
    model: z.string().nullish(),
  })
  .loose();

type Req = z.infer<typeof GenerateContentRequest>;
type GeminiPart = z.infer<typeof PartSchema>;

const TOP_LEVEL = new Set(['contents', 'systemInstruction', 'generationConfig', 'tools', 'toolConfig', 'safetySettings', 'cachedContent', 'model']);
const GENERATION_FIELDS = new Set([
  'maxOutputTokens',
  'temperature',
  'topP',
  'topK',
  'stopSequences',
  'seed',
  'presencePenalty',
  'frequencyPenalty',
  'responseMimeType',
  'responseSchema',
  'responseJsonSchema',
  'candidateCount',
  'responseModalities',
]);
// A part carries exactly one of these.
const DATA_FIELDS = [
  'text',
  'inlineData',
  'fileData',
  'functionCall',
  'functionResponse',
  'executableCode',
  'codeExecutionResult',
  'toolCall',
  'toolResponse',
] as const;
// Part fields read on their own (the data) or dropped (Gemini's own bookkeeping); any other part
// field (videoMetadata, mediaResolution, …) is Gemini-only.
const KNOWN_PART_FIELDS = new Set(['thought', 'thoughtSignature', 'partMetadata', ...DATA_FIELDS]);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const present = (v: unknown): boolean => v !== undefined && v !== null;

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', `Invalid value at '${param}': ${message}`, { param, code: 'invalid_value' });
}

function toGatewayError(issues: readonly z.core.$ZodIssue[]): GatewayError {
  const first = issues[0];
  if (!first) return new GatewayError('invalid_request', 'Invalid request body.');
  return invalid(formatPath(first.path) || 'body', first.message);
}

/** Collects the fields only a Gemini backend can honour, in the order they appear. */
class SameFormatOnly {
  readonly fields: string[] = [];
  add(field: string): void {
    if (!this.fields.includes(field)) this.fields.push(field);
  }
}

/** Validates a parsed generateContent body; throws a 400 GatewayError naming the first bad field. */
export function parseGeminiRequest(body: unknown, inbound: InboundContext): CanonicalRequest {
  if (!isRecord(body)) throw new GatewayError('invalid_request', 'The request body must be a JSON object.');
  const parsed = GenerateContentRequest.safeParse(normalizeRequest(body));
  if (!parsed.success) throw toGatewayError(parsed.error.issues);
  const req = parsed.data;
  const only = new SameFormatOnly();

  for (const key of Object.keys(req)) if ((key === 'cachedContent' || !TOP_LEVEL.has(key)) && present(req[key])) only.add(key);

  const model = modelName(inbound.pathModel ?? req.model ?? undefined);
  const out: CanonicalRequest = { model, messages: readContents(req, only), stream: inbound.stream === true, sameFormatOnly: only.fields };

  const system = req.systemInstruction?.parts.map((p) => p.text).join('\n');
  if (system !== undefined) out.system = system;
  readGenerationConfig(req, out, only);
  readTools(req, out, only);
  return out;
}

function modelName(raw: string | undefined): string {
  const name = raw?.startsWith('models/') ? raw.slice('models/'.length) : raw;
  if (!name) throw new GatewayError('invalid_request', 'The model must be named in the URL: /v1beta/models/{model}:generateContent.', { param: 'model' });
  return name;
}

/** The value a function response carries, with Gemini's documented `output` / `error` keys (and the docs' `result`) unwrapped. */
function functionResult(response: Record<string, unknown>): { content: string; isError: boolean } {
  const keys = Object.keys(response);
  const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  if (keys.length === 1 && (keys[0] === 'output' || keys[0] === 'result')) return { content: text(response[keys[0]]), isError: false };
  if ('error' in response && !('output' in response)) return { content: keys.length === 1 ? text(response.error) : JSON.stringify(response), isError: true };
  return { content: JSON.stringify(response), isError: false };
}

function readContents(req: Req, only: SameFormatOnly): CanonicalMessage[] {
  const messages: CanonicalMessage[] = [];
  // Gemini has no call ids: calls are numbered across the conversation and answered in order by name.
  let calls = 0;
  const unanswered: Array<{ id: string; name: string }> = [];

  for (const [i, content] of req.contents.entries()) {
    const isModel = content.role === 'model';
    let current: CanonicalMessage | undefined;
    const append = (role: CanonicalMessage['role'], part: Part) => {
      if (current?.role !== role) {
        current = { role, content: [] };
        messages.push(current);
      }
      current.content.push(part);
    };

    for (const [j, part] of content.parts.entries()) {
      const at = `contents[${i}].parts[${j}]`;
      const field = dataField(part, at);
      for (const key of Object.keys(part)) if (!KNOWN_PART_FIELDS.has(key) && present(part[key])) only.add(`${at}.${key}`);
      if (field === undefined) {
        // A part with no data (`{}`, `{"text": null}`) is refused, as Google refuses it; one that
        // carries only a thought signature is the model's own bookkeeping, echoed back by its SDKs.
        if (!present(part.thoughtSignature)) throw invalid(at, `a part must hold one of ${DATA_FIELDS.join(', ')} (it has no data)`);
        continue;
      }
      if (part.thought === true) continue; // thought summaries are the model's own notes, not conversation

      if (field === 'text') {
        append(isModel ? 'assistant' : 'user', { type: 'text', text: part.text! });
      } else if (field === 'functionCall') {
        if (!isModel) throw invalid(`${at}.functionCall`, "functionCall parts belong in 'model' turns");
        const fc = part.functionCall!;
        const id = fc.id || `call_${calls}`;
        calls++;
        unanswered.push({ id, name: fc.name });
        append('assistant', { type: 'tool_call', id, name: fc.name, arguments: JSON.stringify(fc.args ?? {}) });
      } else if (field === 'functionResponse') {
        if (isModel) throw invalid(`${at}.functionResponse`, "functionResponse parts belong in 'user' turns");
        const fr = part.functionResponse!;
        const k = fr.id ? unanswered.findIndex((c) => c.id === fr.id) : unanswered.findIndex((c) => c.name === fr.name);
        let id: string;
        if (k >= 0) {
          id = unanswered[k]!.id;
          unanswered.splice(k, 1);
        } else {
          // A response to a call outside the history still needs an id of its own.
          id = fr.id || `call_${calls++}`;
        }
        const { content: text, isError } = functionResult(fr.response);
        append('tool', { type: 'tool_result', toolCallId: id, name: fr.name, content: text, ...(isError ? { isError } : {}) });
      } else if (field === 'inlineData' && !isModel && isImageMime(part.inlineData!.mimeType)) {
        append('user', { type: 'image', source: { kind: 'base64', mediaType: part.inlineData!.mimeType.toLowerCase(), data: part.inlineData!.data } });
      } else if (field === 'fileData' && !isModel && isImageFile(part)) {
        append('user', { type: 'image', source: { kind: 'url', url: part.fileData!.fileUri } });
      } else {
        // Audio, video, documents, images in model turns, code execution: Gemini-only content.
        only.add(`${at}.${field}`);
      }
    }
  }
  return messages;
}

function dataField(part: GeminiPart, at: string): (typeof DATA_FIELDS)[number] | undefined {
  const fields = DATA_FIELDS.filter((f) => present(part[f]));
  if (fields.length > 1) throw invalid(at, `a part holds exactly one of ${DATA_FIELDS.join(', ')}; found ${fields.join(' and ')}`);
  return fields[0];
}

function isImageFile(part: GeminiPart): boolean {
  const fd = part.fileData!;
  return fd.mimeType ? isImageMime(fd.mimeType) : imageMimeFromUrl(fd.fileUri) !== undefined;
}

function readGenerationConfig(req: Req, out: CanonicalRequest, only: SameFormatOnly): void {
  const g = req.generationConfig;
  if (!g) return;
  if (present(g.maxOutputTokens)) out.maxTokens = g.maxOutputTokens!;
  if (present(g.temperature)) out.temperature = g.temperature!;
  if (present(g.topP)) out.topP = g.topP!;
  if (present(g.topK)) out.topK = g.topK!;
  if (present(g.stopSequences) && g.stopSequences!.length > 0) out.stop = [...g.stopSequences!];
  if (present(g.seed)) out.seed = g.seed!;
  if (present(g.presencePenalty)) out.presencePenalty = g.presencePenalty!;
  if (present(g.frequencyPenalty)) out.frequencyPenalty = g.frequencyPenalty!;
  if (present(g.candidateCount) && g.candidateCount! > 1) only.add('generationConfig.candidateCount');

  const format = responseFormat(g, only);
  if (format) out.responseFormat = format;

  const modalities = g.responseModalities;
  // Text-only output is what every backend gives; anything else is Gemini's own.
  if (present(modalities) && !(Array.isArray(modalities) && modalities.every((m) => upper(m) === 'TEXT'))) only.add('generationConfig.responseModalities');
  for (const key of Object.keys(g)) if (!GENERATION_FIELDS.has(key) && present(g[key])) only.add(`generationConfig.${key}`);
}

function responseFormat(g: NonNullable<Req['generationConfig']>, only: SameFormatOnly): ResponseFormat | undefined {
  const mime = g.responseMimeType?.toLowerCase();
  const hasSchema = present(g.responseSchema);
  const hasJsonSchema = present(g.responseJsonSchema);
  if (hasSchema && hasJsonSchema) throw invalid('generationConfig.responseJsonSchema', 'responseSchema and responseJsonSchema cannot both be set');
  if (hasJsonSchema && !isRecord(g.responseJsonSchema)) throw invalid('generationConfig.responseJsonSchema', 'must be a JSON Schema object');

  if (mime === undefined || mime === 'text/plain') {
    if (hasSchema) only.add('generationConfig.responseSchema');
    if (hasJsonSchema) only.add('generationConfig.responseJsonSchema');
    return mime === 'text/plain' ? { type: 'text' } : undefined;
  }
  if (mime !== 'application/json') {
    // e.g. text/x.enum: constrained output the canonical form has no words for.
    only.add('generationConfig.responseMimeType');
    return undefined;
  }
  if (hasSchema) return { type: 'json_schema', schema: googleSchemaToJsonSchema(g.responseSchema!) };
  if (hasJsonSchema) return { type: 'json_schema', schema: g.responseJsonSchema as Record<string, unknown> };
  return { type: 'json' };
}

function readTools(req: Req, out: CanonicalRequest, only: SameFormatOnly): void {
  const tools: CanonicalTool[] = [];
  for (const [i, tool] of (req.tools ?? []).entries()) {
    // Google Search, code execution, URL context, …: tools the backend runs itself.
    for (const key of Object.keys(tool)) if (key !== 'functionDeclarations' && present(tool[key])) only.add(`tools[${i}].${key}`);
    for (const [j, fd] of (tool.functionDeclarations ?? []).entries()) {
      if (present(fd.parameters) && present(fd.parametersJsonSchema)) {
        throw invalid(`tools[${i}].functionDeclarations[${j}].parametersJsonSchema`, 'parameters and parametersJsonSchema cannot both be set');
      }
      const t: CanonicalTool = { name: fd.name };
      if (fd.description) t.description = fd.description;
      if (fd.parametersJsonSchema) t.parameters = fd.parametersJsonSchema;
      else if (fd.parameters) t.parameters = googleSchemaToJsonSchema(fd.parameters);
      tools.push(t);
    }
  }
  if (tools.length > 0) out.tools = tools;

  const tc = req.toolConfig;
  if (!tc) return;
  for (const key of Object.keys(tc)) if (key !== 'functionCallingConfig' && present(tc[key])) only.add(`toolConfig.${key}`);
  const fcc = tc.functionCallingConfig;
  if (!fcc) return;
  for (const key of Object.keys(fcc))
    if (key !== 'mode' && key !== 'allowedFunctionNames' && present(fcc[key])) only.add(`toolConfig.functionCallingConfig.${key}`);
  const choice = toolChoice(fcc.mode ?? undefined, fcc.allowedFunctionNames ?? undefined, tools, only);
  if (choice !== undefined) out.toolChoice = choice;
}

function toolChoice(
  mode: (typeof MODES)[number] | undefined,
  allowed: string[] | undefined,
  tools: CanonicalTool[],
  only: SameFormatOnly,
): ToolChoice | undefined {
  const names = new Set(tools.map((t) => t.name));
  // A list naming every declared function restricts nothing.
  const restricts = allowed !== undefined && allowed.length > 0 && !(allowed.length >= names.size && [...names].every((n) => allowed.includes(n)));
  if (mode === 'VALIDATED') {
    only.add('toolConfig.functionCallingConfig.mode');
    return undefined;
  }
  if (mode === 'ANY') {
    if (allowed?.length === 1) return { name: allowed[0]! };
    if (restricts) only.add('toolConfig.functionCallingConfig.allowedFunctionNames');
    return 'required';
  }
  if (restricts) only.add('toolConfig.functionCallingConfig.allowedFunctionNames');
  if (mode === 'NONE') return 'none';
  if (mode === 'AUTO') return 'auto';
  return undefined;
}
