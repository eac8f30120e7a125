/*
 * Properties of the request translators (canonical → each API's body, and that API's parser
 * back): a request every API can express is built without a throw, survives the JSON round trip,
 * parses back as a valid request of that API, and says the same thing (the conversation, the
 * tools, the sampling settings). A request some API cannot express is refused with a 4xx, never
 * a crash.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { anyRequest, portableRequest } from '../../../test/helpers/fuzz-canonical.js';
import { onlyGatewayErrors, runs } from '../../../test/helpers/fuzz.js';
import type { CanonicalRequest, FormatId } from './canonical/types.js';
import { FORMATS } from './formats.js';

function roundTrip(format: FormatId, req: CanonicalRequest): CanonicalRequest {
  const body = JSON.parse(JSON.stringify(FORMATS[format].buildRequest(req, req.model))) as unknown;
  // Gemini names the model and the streaming in the URL, which upstreamCall builds from the same values.
  return FORMATS[format].parseRequest(body, { pathModel: req.model, stream: req.stream });
}

type Item = { said: 'user' | 'assistant'; text: string } | { image: string } | { call: string; args: unknown } | { result: string; isError: boolean };

/**
 * What the conversation says, as a flat list. Turn boundaries and tool call ids are left out:
 * APIs merge same-role neighbours (Anthropic, Gemini) and some number calls themselves (Gemini,
 * Ollama); results are still matched to calls in order, which the list keeps.
 */
function transcript(req: CanonicalRequest, format: FormatId): Item[] {
  const items: Item[] = [];
  for (const m of req.messages) {
    let said: Extract<Item, { said: string }> | undefined;
    for (const p of m.content) {
      // Ollama's content is one string: a turn's text parts arrive joined with '\n' (its README).
      if (p.type === 'text' && said && format === 'ollama') said.text += `\n${p.text}`;
      else if (p.type === 'text') items.push((said = { said: m.role === 'assistant' ? 'assistant' : 'user', text: p.text }));
      else if (p.type === 'image') items.push({ image: p.source.kind === 'url' ? p.source.url : `data:${p.source.mediaType};base64,${p.source.data}` });
      else if (p.type === 'tool_call') items.push({ call: p.name, args: JSON.parse(p.arguments) });
      else if (format === 'gemini') items.push(geminiResult(p.content, p.isError === true));
      // OpenAI and Ollama have no error flag on a tool result (their READMEs say it is dropped).
      else items.push({ result: p.content, isError: p.isError === true && format === 'anthropic' });
    }
  }
  return items;
}

/**
 * Gemini's function response is a JSON object, so a result that is JSON text travels as the value
 * it encodes (`"sunny"` as the string sunny, `0\n` as 0) and comes back as that value's text: the
 * same JSON, not the same characters. A result that is a JSON object travels as the response
 * itself, where Gemini gives `output`, `result` and `error` keys their own meaning (its README):
 * only its being an object is compared.
 */
const OBJECT_RESULT = '(a JSON object)';

function geminiResult(content: string, isError: boolean): Item {
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch {
    return { result: content, isError };
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return { result: OBJECT_RESULT, isError: false };
  return { result: typeof value === 'string' ? value : JSON.stringify(value), isError };
}

/** Sampling and tool settings each API carries (the README lists the fields each drops). */
function settings(format: FormatId, req: CanonicalRequest): Record<string, unknown> {
  const s: Record<string, unknown> = {
    model: req.model,
    system: req.system,
    stream: req.stream,
    maxTokens: req.maxTokens,
    temperature: req.temperature,
    topP: req.topP,
    stop: req.stop,
    tools: req.tools,
  };
  if (format !== 'anthropic') s.seed = req.seed;
  if (format !== 'openai') s.topK = req.topK;
  // Ollama has no tool_choice: 'none' is sent as no tools at all, 'auto' is its default.
  if (format === 'ollama' && req.toolChoice === 'none') s.tools = undefined;
  else if (format !== 'ollama') s.toolChoice = req.toolChoice;
  return s;
}

describe('request translators', () => {
  for (const format of Object.keys(FORMATS) as FormatId[]) {
    it(`${format}: a request every API can express is built, and parses back saying the same`, () => {
      fc.assert(
        fc.property(portableRequest, (req) => {
          const back = roundTrip(format, req);
          const want = transcript(req, format);
          const got = transcript(back, format);
          want.forEach((w, i) => {
            if ('result' in w && w.result === OBJECT_RESULT && got[i] && 'result' in got[i]) got[i] = w;
          });
          expect(got).toEqual(want);
          const expected = settings(format, req);
          // Anthropic requires max_tokens: the builder fills in its default.
          if (format === 'anthropic' && req.maxTokens === undefined) expected.maxTokens = back.maxTokens;
          expect(settings(format, back)).toEqual(expected);
          expect(back.sameFormatOnly).toEqual([]);
        }),
        runs(250),
      );
    });

    it(`${format}: any request is built or refused with a 4xx`, () => {
      fc.assert(
        fc.property(anyRequest, (req) => {
          const body = onlyGatewayErrors(() => FORMATS[format].buildRequest(req, req.model));
          if (body) onlyGatewayErrors(() => FORMATS[format].parseRequest(JSON.parse(JSON.stringify(body)), { pathModel: req.model, stream: req.stream }));
        }),
        runs(300),
      );
    });
  }
});
