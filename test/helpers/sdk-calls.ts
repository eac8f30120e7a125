/*
 * Each API's official SDK as a caller of the gateway, reduced to the same terms whatever the API:
 * text, usage, finish reason, tool calls and the response headers.
 */
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI, type GenerateContentResponse } from '@google/genai';
import { Ollama } from 'ollama';
import OpenAI from 'openai';

export type Caller = 'openai' | 'anthropic' | 'gemini' | 'ollama';
export const CALLERS: Caller[] = ['openai', 'anthropic', 'gemini', 'ollama'];

/** Where the gateway listens and the key to call it with. */
export interface Gateway {
  url: string;
  key: string;
}

/** One catalog model per backend API, and the provider (simulator) that serves it. */
export const BACKENDS = [
  { api: 'openai', model: 'gpt-4o-mini', provider: 'openai' },
  { api: 'anthropic', model: 'claude-haiku-4-5', provider: 'anthropic' },
  { api: 'gemini', model: 'gemini-2.5-flash-lite', provider: 'gemini' },
  { api: 'ollama', model: 'llama3.2', provider: 'ollama' },
] as const;

export const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

/** What a caller saw, reduced to the same terms for every API. */
export interface Seen {
  text: string;
  inputTokens: number | undefined;
  outputTokens: number | undefined;
  finish: string | undefined;
  toolCalls: Array<{ name: string; arguments: Record<string, unknown> }>;
  headers: Headers | undefined;
}

/** Each API's own words for "stopped normally" and "stopped to call a tool". */
export const FINISH: Record<Caller, { stop: string; tool: string }> = {
  openai: { stop: 'stop', tool: 'tool_calls' },
  anthropic: { stop: 'end_turn', tool: 'tool_use' },
  gemini: { stop: 'STOP', tool: 'STOP' },
  ollama: { stop: 'stop', tool: 'stop' },
};

/** A fetch that keeps the last response's headers (the Ollama client does not expose them). */
function capturingFetch(into: { headers?: Headers }): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    into.headers = res.headers;
    return res;
  };
}

async function callOpenAI(gw: Gateway, model: string, prompt: string, stream: boolean, tools: boolean): Promise<Seen> {
  const client = new OpenAI({ apiKey: gw.key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  const params = {
    model,
    messages: [{ role: 'user' as const, content: prompt }],
    ...(tools ? { tools: [{ type: 'function' as const, function: WEATHER_TOOL }] } : {}),
  };
  if (!stream) {
    const { data, response } = await client.chat.completions.create(params).withResponse();
    const choice = data.choices[0]!;
    return {
      text: choice.message.content ?? '',
      inputTokens: data.usage?.prompt_tokens,
      outputTokens: data.usage?.completion_tokens,
      finish: choice.finish_reason,
      toolCalls: (choice.message.tool_calls ?? []).map((c) => ({
        name: (c as { function: { name: string } }).function.name,
        arguments: JSON.parse((c as { function: { arguments: string } }).function.arguments) as Record<string, unknown>,
      })),
      headers: response.headers,
    };
  }
  const { data, response } = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } }).withResponse();
  const seen: Seen = { text: '', inputTokens: undefined, outputTokens: undefined, finish: undefined, toolCalls: [], headers: response.headers };
  const args: string[] = [];
  for await (const chunk of data) {
    if (chunk.usage) {
      seen.inputTokens = chunk.usage.prompt_tokens;
      seen.outputTokens = chunk.usage.completion_tokens;
    }
    const c = chunk.choices[0];
    if (!c) continue;
    seen.text += c.delta.content ?? '';
    for (const t of c.delta.tool_calls ?? []) {
      if (t.function?.name) seen.toolCalls[t.index] = { name: t.function.name, arguments: {} };
      args[t.index] = (args[t.index] ?? '') + (t.function?.arguments ?? '');
    }
    if (c.finish_reason) seen.finish = c.finish_reason;
  }
  seen.toolCalls.forEach((t, i) => {
    t.arguments = JSON.parse(args[i]!) as Record<string, unknown>;
  });
  return seen;
}

async function callAnthropic(gw: Gateway, model: string, prompt: string, stream: boolean, tools: boolean): Promise<Seen> {
  const client = new Anthropic({ apiKey: gw.key, baseURL: gw.url, maxRetries: 0 });
  const params = {
    model,
    max_tokens: 1024,
    messages: [{ role: 'user' as const, content: prompt }],
    ...(tools
      ? { tools: [{ name: WEATHER_TOOL.name, description: WEATHER_TOOL.description, input_schema: WEATHER_TOOL.parameters as Anthropic.Tool.InputSchema }] }
      : {}),
  };
  if (!stream) {
    const { data, response } = await client.messages.create(params).withResponse();
    return {
      text: data.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join(''),
      inputTokens: data.usage.input_tokens,
      outputTokens: data.usage.output_tokens,
      finish: data.stop_reason ?? undefined,
      toolCalls: data.content.flatMap((b) => (b.type === 'tool_use' ? [{ name: b.name, arguments: b.input as Record<string, unknown> }] : [])),
      headers: response.headers,
    };
  }
  // The SDK's own stream helper accumulates the message as Anthropic's event sequence defines it.
  const s = client.messages.stream(params);
  const { response } = await s.withResponse();
  const final = await s.finalMessage();
  return {
    text: final.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join(''),
    inputTokens: final.usage.input_tokens,
    outputTokens: final.usage.output_tokens,
    finish: final.stop_reason ?? undefined,
    toolCalls: final.content.flatMap((b) => (b.type === 'tool_use' ? [{ name: b.name, arguments: b.input as Record<string, unknown> }] : [])),
    headers: response.headers,
  };
}

function geminiSeen(chunks: GenerateContentResponse[]): Seen {
  const seen: Seen = { text: '', inputTokens: undefined, outputTokens: undefined, finish: undefined, toolCalls: [], headers: undefined };
  for (const r of chunks) {
    for (const part of r.candidates?.[0]?.content?.parts ?? []) {
      if (part.text) seen.text += part.text;
      if (part.functionCall) seen.toolCalls.push({ name: part.functionCall.name!, arguments: (part.functionCall.args ?? {}) as Record<string, unknown> });
    }
    if (r.candidates?.[0]?.finishReason) seen.finish = r.candidates[0].finishReason;
    if (r.usageMetadata) {
      seen.inputTokens = r.usageMetadata.promptTokenCount;
      seen.outputTokens = r.usageMetadata.candidatesTokenCount;
    }
    const h = r.sdkHttpResponse?.headers;
    if (h) seen.headers = new Headers(h);
  }
  return seen;
}

async function callGemini(gw: Gateway, model: string, prompt: string, stream: boolean, tools: boolean): Promise<Seen> {
  const ai = new GoogleGenAI({ apiKey: gw.key, httpOptions: { baseUrl: gw.url } });
  const params = {
    model,
    contents: prompt,
    config: tools
      ? {
          tools: [
            { functionDeclarations: [{ name: WEATHER_TOOL.name, description: WEATHER_TOOL.description, parametersJsonSchema: WEATHER_TOOL.parameters }] },
          ],
        }
      : {},
  };
  if (!stream) return geminiSeen([await ai.models.generateContent(params)]);
  const chunks: GenerateContentResponse[] = [];
  for await (const c of await ai.models.generateContentStream(params)) chunks.push(c);
  return geminiSeen(chunks);
}

async function callOllama(gw: Gateway, model: string, prompt: string, stream: boolean, tools: boolean): Promise<Seen> {
  const captured: { headers?: Headers } = {};
  const client = new Ollama({ host: gw.url, headers: { authorization: `Bearer ${gw.key}` }, fetch: capturingFetch(captured) });
  const params = {
    model,
    messages: [{ role: 'user', content: prompt }],
    ...(tools ? { tools: [{ type: 'function', function: WEATHER_TOOL }] } : {}),
  };
  const parts = stream ? [] : [await client.chat({ ...params, stream: false })];
  if (stream) for await (const p of await client.chat({ ...params, stream: true })) parts.push(p);
  const seen: Seen = { text: '', inputTokens: undefined, outputTokens: undefined, finish: undefined, toolCalls: [], headers: captured.headers };
  for (const p of parts) {
    seen.text += p.message.content;
    for (const t of p.message.tool_calls ?? []) seen.toolCalls.push({ name: t.function.name, arguments: t.function.arguments });
    if (p.done) {
      seen.finish = p.done_reason;
      seen.inputTokens = p.prompt_eval_count;
      seen.outputTokens = p.eval_count;
    }
  }
  return seen;
}

export const CALL: Record<Caller, (gw: Gateway, model: string, prompt: string, stream: boolean, tools: boolean) => Promise<Seen>> = {
  openai: callOpenAI,
  anthropic: callAnthropic,
  gemini: callGemini,
  ollama: callOllama,
};
