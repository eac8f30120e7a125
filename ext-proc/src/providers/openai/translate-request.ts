import { GatewayError } from '../../errors.js';
import type { CanonicalMessage, CanonicalRequest, CanonicalTool, ImageSource, Part, ResponseFormat, ToolChoice } from '../canonical/types.js';
import type { ChatCompletionRequest } from './request.js';

/*
 * Chat Completions request <-> canonical request. The caller's body has already passed
 * validateChatRequest, so shapes checked there are trusted here; this module only decides
 * what each field becomes. README.md in this folder lists the dropped and refused fields.
 */

/** Top-level fields the canonical form carries. */
const CARRIED = new Set([
  'model',
  'messages',
  'stream',
  'stream_options',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'stop',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'response_format',
]);

/** Top-level fields that never change the answer (bookkeeping, billing, caching hints). */
const DROPPED = new Set(['user', 'metadata', 'store', 'service_tier', 'safety_identifier', 'prompt_cache_key', 'prompt_cache_retention']);

type Rec = Record<string, unknown>;

const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A value that asks for nothing beyond the default. Such fields need no honouring, so they do
 * not stop a request from reaching another format (`n: 1`, `logprobs: false`, `logit_bias: {}`).
 */
function isInert(key: string, value: unknown): boolean {
  if (value === null || value === undefined || value === false) return true;
  if (Array.isArray(value)) return value.length === 0 || (key === 'modalities' && value.length === 1 && value[0] === 'text');
  if (isRec(value)) return Object.keys(value).length === 0;
  return key === 'n' && value === 1;
}

const DATA_URI = /^data:([\w.+-]+\/[\w.+-]+)(?:;[^;,]*)*;base64,/i;

/** An image_url URL as a canonical source, or undefined when no other format could fetch it. */
export function imageSourceFromUrl(url: string): ImageSource | undefined {
  const m = DATA_URI.exec(url);
  if (m) return { kind: 'base64', mediaType: m[1]!.toLowerCase(), data: url.slice(m[0].length) };
  if (/^https?:\/\//i.test(url)) return { kind: 'url', url };
  return undefined;
}

export function imageSourceToUrl(source: ImageSource): string {
  return source.kind === 'url' ? source.url : `data:${source.mediaType};base64,${source.data}`;
}

/** Text of a string or text-part array content; refusal parts count as text. */
function textOf(content: unknown, separator: string): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const texts: string[] = [];
  for (const p of content as Rec[]) {
    if (typeof p.text === 'string') texts.push(p.text);
    else if (typeof p.refusal === 'string') texts.push(p.refusal);
  }
  return texts.join(separator);
}

interface ConvertState {
  sameFormatOnly: string[];
  /** Names of earlier tool calls by id: Gemini and Ollama results need the function name. */
  callNames: Map<string, string>;
  /** Deprecated `function_call`s awaiting their `function` message, oldest first. */
  pendingLegacy: Array<{ id: string; name: string }>;
  legacyCount: number;
}

function userParts(content: unknown, i: number, st: ConvertState): Part[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  const parts: Part[] = [];
  (content as Rec[]).forEach((p, j) => {
    if (p.type === 'text') {
      parts.push({ type: 'text', text: p.text as string });
      return;
    }
    if (p.type === 'image_url') {
      const source = imageSourceFromUrl((p.image_url as Rec).url as string);
      if (source) {
        parts.push({ type: 'image', source });
        return;
      }
    }
    // input_audio, file, refusal, and images no other format can load.
    st.sameFormatOnly.push(`messages[${i}].content[${j}]`);
  });
  return parts;
}

function assistantParts(m: Rec, i: number, st: ConvertState): Part[] {
  const calls: Part[] = [];
  const toolCalls = Array.isArray(m.tool_calls) ? (m.tool_calls as Rec[]) : [];
  toolCalls.forEach((tc, k) => {
    if (tc.type !== 'function') {
      st.sameFormatOnly.push(`messages[${i}].tool_calls[${k}]`);
      return;
    }
    const fn = tc.function as Rec;
    const id = tc.id as string;
    st.callNames.set(id, fn.name as string);
    calls.push({ type: 'tool_call', id, name: fn.name as string, arguments: fn.arguments as string });
  });
  if (isRec(m.function_call)) {
    const fn = m.function_call;
    const id = `function_call_${st.legacyCount++}`;
    st.pendingLegacy.push({ id, name: fn.name as string });
    st.callNames.set(id, fn.name as string);
    calls.push({ type: 'tool_call', id, name: fn.name as string, arguments: fn.arguments as string });
  }
  let text = textOf(m.content, '');
  if (!text && typeof m.refusal === 'string' && m.refusal !== '') text = m.refusal;
  // An empty text beside tool calls is OpenAI's way of saying "no text"; other formats reject empty blocks.
  if (text === undefined || (text === '' && calls.length > 0)) return calls;
  return [{ type: 'text', text }, ...calls];
}

function legacyResult(m: Rec, st: ConvertState): Part {
  const name = m.name as string;
  const at = st.pendingLegacy.findIndex((c) => c.name === name);
  const id = at >= 0 ? st.pendingLegacy.splice(at, 1)[0]!.id : `function_call_${st.legacyCount++}`;
  return { type: 'tool_result', toolCallId: id, name, content: typeof m.content === 'string' ? m.content : '' };
}

function convertTools(tools: ChatCompletionRequest['tools'], st: ConvertState): CanonicalTool[] | undefined {
  if (!tools) return undefined;
  const out: CanonicalTool[] = [];
  tools.forEach((t, i) => {
    if (t.type !== 'function') {
      st.sameFormatOnly.push(`tools[${i}]`);
      return;
    }
    const fn = t.function;
    out.push({
      name: fn.name,
      ...(fn.description !== undefined ? { description: fn.description } : {}),
      ...(fn.parameters !== undefined ? { parameters: fn.parameters } : {}),
    });
  });
  return out;
}

function convertToolChoice(choice: ChatCompletionRequest['tool_choice'], st: ConvertState): ToolChoice | undefined {
  if (choice === undefined) return undefined;
  if (typeof choice === 'string') return choice;
  if (choice.type === 'function') return { name: (choice.function as Rec).name as string };
  st.sameFormatOnly.push('tool_choice');
  return undefined;
}

function convertResponseFormat(rf: ChatCompletionRequest['response_format']): ResponseFormat | undefined {
  if (!rf) return undefined;
  if (rf.type === 'text') return { type: 'text' };
  if (rf.type === 'json_object') return { type: 'json' };
  const js = (rf as Rec).json_schema;
  if (!isRec(js)) {
    throw new GatewayError('invalid_request', "Missing required parameter: 'response_format.json_schema'.", {
      param: 'response_format.json_schema',
      code: 'missing_required_parameter',
    });
  }
  if (typeof js.name !== 'string' || js.name === '') {
    throw new GatewayError('invalid_request', "Missing required parameter: 'response_format.json_schema.name'.", {
      param: 'response_format.json_schema.name',
      code: 'missing_required_parameter',
    });
  }
  if (js.schema !== undefined && !isRec(js.schema)) {
    throw new GatewayError('invalid_request', "Invalid value for 'response_format.json_schema.schema': expected an object.", {
      param: 'response_format.json_schema.schema',
      code: 'invalid_type',
    });
  }
  // Without a schema the caller only asks for JSON; a made-up empty schema would mislead other formats.
  if (js.schema === undefined) return { type: 'json' };
  return {
    type: 'json_schema',
    name: js.name,
    schema: js.schema,
    ...(typeof js.strict === 'boolean' ? { strict: js.strict } : {}),
  };
}

/** A validated Chat Completions request as the canonical request. */
export function toCanonicalRequest(req: ChatCompletionRequest): CanonicalRequest {
  const st: ConvertState = { sameFormatOnly: [], callNames: new Map(), pendingLegacy: [], legacyCount: 0 };
  for (const [key, value] of Object.entries(req)) {
    if (!CARRIED.has(key) && !DROPPED.has(key) && !isInert(key, value)) st.sameFormatOnly.push(key);
  }

  const system: string[] = [];
  const messages: CanonicalMessage[] = [];
  (req.messages as Rec[]).forEach((m, i) => {
    switch (m.role) {
      case 'system':
      case 'developer': {
        const text = textOf(m.content, '\n\n');
        if (text) system.push(text);
        return;
      }
      case 'user':
        messages.push({ role: 'user', content: userParts(m.content, i, st) });
        return;
      case 'assistant':
        messages.push({ role: 'assistant', content: assistantParts(m, i, st) });
        return;
      default: {
        const part: Part =
          m.role === 'function'
            ? legacyResult(m, st)
            : {
                type: 'tool_result',
                toolCallId: m.tool_call_id as string,
                ...(st.callNames.has(m.tool_call_id as string) ? { name: st.callNames.get(m.tool_call_id as string)! } : {}),
                content: textOf(m.content, '') ?? '',
              };
        // Consecutive results answer one assistant turn; other formats expect them in one turn.
        const last = messages[messages.length - 1];
        if (last?.role === 'tool') last.content.push(part);
        else messages.push({ role: 'tool', content: [part] });
      }
    }
  });

  const out: CanonicalRequest = { model: req.model, messages, stream: req.stream === true, sameFormatOnly: st.sameFormatOnly };
  if (system.length > 0) out.system = system.join('\n\n');
  const maxTokens = req.max_completion_tokens ?? req.max_tokens;
  if (maxTokens != null) out.maxTokens = maxTokens;
  if (req.temperature != null) out.temperature = req.temperature;
  if (req.top_p != null) out.topP = req.top_p;
  if (typeof req.stop === 'string') out.stop = [req.stop];
  else if (Array.isArray(req.stop) && req.stop.length > 0) out.stop = [...req.stop];
  if (req.seed != null) out.seed = req.seed;
  if (req.presence_penalty != null) out.presencePenalty = req.presence_penalty;
  if (req.frequency_penalty != null) out.frequencyPenalty = req.frequency_penalty;
  const tools = convertTools(req.tools, st);
  if (tools && tools.length > 0) out.tools = tools;
  const toolChoice = convertToolChoice(req.tool_choice, st);
  if (toolChoice !== undefined) out.toolChoice = toolChoice;
  if (req.parallel_tool_calls !== undefined) out.parallelToolCalls = req.parallel_tool_calls;
  const responseFormat = convertResponseFormat(req.response_format);
  if (responseFormat) out.responseFormat = responseFormat;
  if (typeof req.stream_options?.include_usage === 'boolean') out.includeUsage = req.stream_options.include_usage;
  return out;
}

function refuse(param: string, why: string): GatewayError {
  return new GatewayError('invalid_request', `'${param}' cannot be sent to an OpenAI-format backend: ${why}`, {
    param,
    code: 'unsupported_value',
  });
}

function userContent(parts: Part[], i: number): string | Rec[] {
  if (parts.length === 0) return '';
  if (parts.length === 1 && parts[0]!.type === 'text') return parts[0]!.text;
  return parts.map((p, j) => {
    if (p.type === 'text') return { type: 'text', text: p.text };
    if (p.type === 'image') return { type: 'image_url', image_url: { url: imageSourceToUrl(p.source) } };
    throw refuse(`messages[${i}].content[${j}]`, 'a user turn cannot carry a tool call.');
  });
}

function openAIMessages(m: CanonicalMessage, i: number): Rec[] {
  const results: Rec[] = [];
  const rest: Part[] = [];
  m.content.forEach((p) => {
    if (p.type === 'tool_result') results.push({ role: 'tool', tool_call_id: p.toolCallId, content: p.content });
    else rest.push(p);
  });
  if (m.role === 'assistant') {
    if (results.length > 0) throw refuse(`messages[${i}]`, 'an assistant turn cannot carry tool results.');
    const texts: string[] = [];
    const toolCalls: Rec[] = [];
    m.content.forEach((p, j) => {
      if (p.type === 'text') texts.push(p.text);
      else if (p.type === 'tool_call') toolCalls.push({ id: p.id, type: 'function', function: { name: p.name, arguments: p.arguments } });
      else throw refuse(`messages[${i}].content[${j}]`, 'assistant messages carry only text and tool calls.');
    });
    const msg: Rec = { role: 'assistant', content: texts.length > 0 ? texts.join('') : toolCalls.length > 0 ? null : '' };
    if (toolCalls.length > 0) msg.tool_calls = toolCalls;
    return [msg];
  }
  // Tool results must directly follow the assistant turn that called them, so they go first.
  if (rest.length > 0 || (m.role === 'user' && results.length === 0)) results.push({ role: 'user', content: userContent(rest, i) });
  return results;
}

/** OpenAI's reasoning families (o1, o3, o4-mini, gpt-5…), also under a router's `openai/` prefix. */
const REASONING_MODEL = /(^|\/)(o\d|gpt-5)/;

/** The Chat Completions body for a canonical request. */
export function toOpenAIRequestBody(req: CanonicalRequest, upstreamModel: string): Rec {
  const messages: Rec[] = [];
  if (req.system) messages.push({ role: 'system', content: req.system });
  req.messages.forEach((m, i) => {
    messages.push(...openAIMessages(m, i));
  });

  const body: Rec = { model: upstreamModel, messages };
  if (req.stream) {
    body.stream = true;
    // Usage is metered from the stream whatever the caller asked for.
    body.stream_options = { include_usage: true };
  }
  // OpenAI-compatible servers (Groq, vLLM, Ollama, DeepSeek) read max_tokens; OpenAI's reasoning
  // models refuse it and take only max_completion_tokens.
  if (req.maxTokens !== undefined) body[REASONING_MODEL.test(upstreamModel) ? 'max_completion_tokens' : 'max_tokens'] = req.maxTokens;
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.topP !== undefined) body.top_p = req.topP;
  if (req.stop !== undefined && req.stop.length > 0) {
    if (req.stop.length > 4) throw refuse('stop', 'at most 4 stop sequences are allowed.');
    body.stop = req.stop;
  }
  if (req.seed !== undefined) body.seed = req.seed;
  if (req.presencePenalty !== undefined) body.presence_penalty = req.presencePenalty;
  if (req.frequencyPenalty !== undefined) body.frequency_penalty = req.frequencyPenalty;
  // topK has no Chat Completions field and api.openai.com rejects unknown ones; it is dropped (README).

  if (req.tools && req.tools.length > 0) {
    body.tools = req.tools.map((t) => ({
      type: 'function',
      function: {
        name: t.name,
        ...(t.description !== undefined ? { description: t.description } : {}),
        ...(t.parameters !== undefined ? { parameters: t.parameters } : {}),
      },
    }));
    if (req.toolChoice !== undefined) {
      body.tool_choice = typeof req.toolChoice === 'string' ? req.toolChoice : { type: 'function', function: { name: req.toolChoice.name } };
    }
    if (req.parallelToolCalls !== undefined) body.parallel_tool_calls = req.parallelToolCalls;
  } else if (req.toolChoice === 'required' || typeof req.toolChoice === 'object') {
    // OpenAI rejects tool_choice without tools; `auto`/`none` without tools mean nothing and are left out.
    throw refuse('tool_choice', 'a tool choice that forces a call needs at least one tool.');
  }

  const rf = req.responseFormat;
  if (rf?.type === 'text') body.response_format = { type: 'text' };
  else if (rf?.type === 'json') body.response_format = { type: 'json_object' };
  else if (rf?.type === 'json_schema') {
    body.response_format = {
      type: 'json_schema',
      json_schema: {
        // OpenAI requires a name; other formats have none to give.
        name: rf.name ?? 'response',
        schema: rf.schema,
        ...(rf.strict !== undefined ? { strict: rf.strict } : {}),
      },
    };
  }
  return body;
}
