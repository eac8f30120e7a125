import { GatewayError } from '../../errors.js';
import { nestedDeeperThan, tooDeepMessage } from '../../util/json-depth.js';
import type { CanonicalRequest, ImageSource, Part, ToolChoice } from '../canonical/types.js';
import { imageMimeFromUrl, parseDataUri } from './media.js';

/*
 * The generateContent body for a canonical request from a caller of another API. The model and
 * streaming are not in the body: upstreamCall puts them in the URL.
 */

/**
 * Gemini 3 refuses a replayed functionCall part without the thought signature it was returned
 * with. Calls made by another provider never had one; Google documents this value for exactly
 * that case (history that did not come from Gemini), and older models ignore it.
 */
export const FOREIGN_THOUGHT_SIGNATURE = 'skip_thought_signature_validator';

// Gemini's documented limit on stop sequences.
const MAX_STOP_SEQUENCES = 5;

type GeminiPart = Record<string, unknown>;
interface GeminiContent {
  role: 'user' | 'model';
  parts: GeminiPart[];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', message, { param, code: 'invalid_value' });
}

export function buildGeminiRequest(req: CanonicalRequest): Record<string, unknown> {
  const body: Record<string, unknown> = { contents: buildContents(req) };
  if (req.system) body.systemInstruction = { parts: [{ text: req.system }] };

  const config = generationConfig(req);
  if (Object.keys(config).length > 0) body.generationConfig = config;

  if (req.tools && req.tools.length > 0) {
    body.tools = [
      {
        functionDeclarations: req.tools.map((t) => ({
          name: t.name,
          ...(t.description ? { description: t.description } : {}),
          // JSON Schema as it is: the OpenAPI-subset `parameters` would lose $ref, additionalProperties, …
          ...(t.parameters ? { parametersJsonSchema: t.parameters } : {}),
        })),
      },
    ];
    if (req.toolChoice !== undefined) body.toolConfig = { functionCallingConfig: functionCallingConfig(req.toolChoice) };
  }
  return body;
}

function functionCallingConfig(choice: ToolChoice): Record<string, unknown> {
  if (choice === 'auto') return { mode: 'AUTO' };
  if (choice === 'none') return { mode: 'NONE' };
  if (choice === 'required') return { mode: 'ANY' };
  return { mode: 'ANY', allowedFunctionNames: [choice.name] };
}

function generationConfig(req: CanonicalRequest): Record<string, unknown> {
  const g: Record<string, unknown> = {};
  if (req.maxTokens !== undefined) g.maxOutputTokens = req.maxTokens;
  if (req.temperature !== undefined) g.temperature = req.temperature;
  if (req.topP !== undefined) g.topP = req.topP;
  if (req.topK !== undefined) g.topK = req.topK;
  if (req.stop && req.stop.length > 0) {
    if (req.stop.length > MAX_STOP_SEQUENCES)
      throw invalid('stop', `Gemini models take at most ${MAX_STOP_SEQUENCES} stop sequences; ${req.stop.length} were given.`);
    g.stopSequences = req.stop;
  }
  if (req.seed !== undefined) g.seed = req.seed;
  if (req.presencePenalty !== undefined) g.presencePenalty = req.presencePenalty;
  if (req.frequencyPenalty !== undefined) g.frequencyPenalty = req.frequencyPenalty;
  const f = req.responseFormat;
  if (f?.type === 'json' || f?.type === 'json_schema') g.responseMimeType = 'application/json';
  if (f?.type === 'json_schema') g.responseJsonSchema = f.schema;
  return g;
}

function buildContents(req: CanonicalRequest): GeminiContent[] {
  const contents: GeminiContent[] = [];
  // Gemini wants turns to alternate, and all responses to one model turn's calls in one user turn.
  const push = (role: GeminiContent['role'], parts: GeminiPart[]) => {
    if (parts.length === 0) return;
    const last = contents[contents.length - 1];
    if (last?.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };
  // Call id → function name, for results that do not carry the name themselves.
  const callNames = new Map<string, string>();

  for (const [i, m] of req.messages.entries()) {
    const parts: GeminiPart[] = [];
    for (const [j, part] of m.content.entries()) {
      const at = `messages[${i}].content[${j}]`;
      if (m.role === 'assistant') parts.push(modelPart(part, at, callNames));
      else if (part.type === 'tool_result') parts.push(functionResponsePart(part, `messages[${i}]`, callNames));
      else {
        const p = userPart(part, at);
        if (p) parts.push(p);
      }
    }
    push(
      m.role === 'assistant' ? 'model' : 'user',
      parts.filter((p) => p.text !== ''),
    );
  }
  if (contents.length === 0) throw invalid('messages', 'The request has no content to send: every message is empty.');
  return contents;
}

function modelPart(part: Part, at: string, callNames: Map<string, string>): GeminiPart {
  switch (part.type) {
    case 'text':
      return { text: part.text };
    case 'tool_call': {
      callNames.set(part.id, part.name);
      return { functionCall: { name: part.name, args: parseArguments(part.arguments, `${at}.arguments`) }, thoughtSignature: FOREIGN_THOUGHT_SIGNATURE };
    }
    default:
      throw invalid(at, `Gemini model turns hold text and function calls only; this assistant message has a ${part.type} part.`);
  }
}

function parseArguments(args: string, param: string): Record<string, unknown> {
  if (args.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(args);
  } catch {
    throw invalid(param, 'Tool call arguments must be a JSON object; these are not valid JSON.');
  }
  if (!isPlainObject(value)) throw invalid(param, 'Tool call arguments must be a JSON object.');
  // JSON text inside the body escapes the body's own depth check; the request is re-serialised.
  if (nestedDeeperThan(value)) throw invalid(param, tooDeepMessage('Tool call arguments'));
  return value;
}

function userPart(part: Part, at: string): GeminiPart | undefined {
  if (part.type === 'text') return { text: part.text };
  if (part.type === 'image') return imagePart(part.source, at);
  throw invalid(at, `A ${part.type} part cannot be sent in a user turn to a Gemini model.`);
}

function imagePart(source: ImageSource, at: string): GeminiPart {
  if (source.kind === 'base64') return { inlineData: { mimeType: source.mediaType, data: source.data } };
  const url = source.url;
  if (url.startsWith('data:')) {
    const d = parseDataUri(url);
    if (!d) throw invalid(at, 'Image data URIs must be base64: data:<mime type>;base64,<data>.');
    return { inlineData: { mimeType: d.mediaType, data: d.data } };
  }
  if (!/^(https?|gs):\/\//i.test(url)) throw invalid(at, 'Gemini fetches images from http(s) and gs:// URLs only; send other images as base64 data.');
  // Gemini fetches the URL itself but must be told the type: the file extension is all there is to go on.
  const mimeType = imageMimeFromUrl(url);
  if (!mimeType) {
    throw invalid(
      at,
      'The image type cannot be told from this URL (expected .png, .jpg, .jpeg, .webp, .heic or .heif); send the image as base64 data instead.',
    );
  }
  return { fileData: { mimeType, fileUri: url } };
}

/**
 * Gemini's `response` must be an object: a JSON object result is sent as it is, anything else
 * (plain text, a JSON array, number, string) as `{"result": …}`, and a failed call as `{"error": …}`.
 */
export function functionResponseBody(content: string, isError: boolean | undefined): Record<string, unknown> {
  let value: unknown = content;
  try {
    value = JSON.parse(content);
  } catch {
    // plain text stays text
  }
  // Too deep to re-serialise as JSON; as text it still says everything it said.
  if (nestedDeeperThan(value)) value = content;
  if (isError) return { error: value };
  return isPlainObject(value) ? value : { result: value };
}

function functionResponsePart(part: Extract<Part, { type: 'tool_result' }>, at: string, callNames: Map<string, string>): GeminiPart {
  const name = part.name ?? callNames.get(part.toolCallId);
  if (!name) {
    throw invalid(
      at,
      `Gemini matches function results to calls by name: no earlier tool call has the id '${part.toolCallId}' and the result does not name its function.`,
    );
  }
  return { functionResponse: { name, response: functionResponseBody(part.content, part.isError) } };
}
