/*
 * JSON text inside a request or an answer (tool call arguments, tool results) is parsed by the
 * translators, after the body's own depth check (pipeline/chat.ts) has passed, and the result is
 * re-serialised for the other end. Nested too deeply, it would overflow JSON.stringify: each
 * translator refuses it (requests) or degrades it (answers) instead.
 */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import { MAX_JSON_DEPTH } from '../util/json-depth.js';
import { toolInputObject } from './anthropic/response.js';
import type { CanonicalRequest, CanonicalResponse, FormatId } from './canonical/types.js';
import { FORMATS } from './formats.js';
import { functionResponseBody } from './gemini/build.js';
import { argsObject } from './gemini/response.js';
import { argumentsObject } from './ollama/arguments.js';

const deepText = (depth: number): string => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const DEEP = deepText(100_000);

function withArguments(args: string, result = 'ok'): CanonicalRequest {
  return {
    model: 'm',
    stream: false,
    sameFormatOnly: [],
    messages: [
      { role: 'user', content: [{ type: 'text', text: 'hi' }] },
      { role: 'assistant', content: [{ type: 'tool_call', id: 'call_1', name: 'f', arguments: args }] },
      { role: 'tool', content: [{ type: 'tool_result', toolCallId: 'call_1', name: 'f', content: result }] },
    ],
  };
}

/** A backend's answer and stream event of each API, with tool arguments DEEP levels deep (as a model may write them). */
function deepFromBackend(format: FormatId): { answer: unknown; line: string } {
  const deep = JSON.parse(DEEP) as unknown;
  switch (format) {
    case 'openai':
      return {
        answer: {
          choices: [{ index: 0, message: { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: deep } }] } }],
        },
        line: `data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":${DEEP}}}]}}]}\n\n`,
      };
    case 'anthropic':
      return {
        answer: {
          type: 'message',
          id: 'm',
          model: 'x',
          role: 'assistant',
          content: [{ type: 'tool_use', id: 't', name: 'f', input: deep }],
          stop_reason: 'tool_use',
          usage: { input_tokens: 1, output_tokens: 1 },
        },
        line: `data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"f","input":${DEEP}}}\n\ndata: {"type":"content_block_stop","index":0}\n\n`,
      };
    case 'gemini':
      return {
        answer: { candidates: [{ content: { parts: [{ functionCall: { name: 'f', args: deep } }] }, finishReason: 'STOP' }] },
        line: `data: {"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":${DEEP}}}]}}]}\n\n`,
      };
    case 'ollama':
      return {
        answer: { model: 'x', message: { role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: deep } }] }, done: true },
        line: `{"model":"x","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":${DEEP}}}]},"done":false}\n`,
      };
  }
}

describe("a backend's tool arguments nested too deeply", () => {
  for (const id of ['openai', 'anthropic', 'gemini', 'ollama'] as const) {
    it(`${id}: a whole answer is refused as unreadable (a 502), not a stack overflow (found by fuzzing)`, () => {
      let err: unknown;
      try {
        FORMATS[id].parseResponse(deepFromBackend(id).answer);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).status).toBe(502);
    });

    it(`${id}: a stream reports an error event instead of throwing (found by fuzzing)`, () => {
      const d = FORMATS[id].createStreamDecoder();
      const events = [...d.push(Buffer.from(deepFromBackend(id).line, 'utf8')), ...d.end()];
      expect(events.some((e) => e.type === 'error' && e.status === 502)).toBe(true);
    });
  }
});

describe('tool call arguments nested too deeply', () => {
  for (const id of ['anthropic', 'gemini', 'ollama'] as const) {
    it(`${id}: a request carrying them is a 400, not a stack overflow`, () => {
      let err: unknown;
      try {
        JSON.stringify(FORMATS[id].buildRequest(withArguments(DEEP), 'up'));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).status).toBe(400);
    });

    it(`${id}: arguments just under the limit still go through`, () => {
      const built = JSON.stringify(FORMATS[id].buildRequest(withArguments(deepText(MAX_JSON_DEPTH - 1)), 'up'));
      expect(built.split('"a"').length - 1).toBe(MAX_JSON_DEPTH - 1);
    });
  }

  it('the OpenAI body carries arguments as text and needs no parse', () => {
    expect(() => JSON.stringify(FORMATS.openai.buildRequest(withArguments(DEEP), 'up'))).not.toThrow();
  });

  it('a tool result too deep to re-serialise reaches Gemini as the text it was', () => {
    expect(functionResponseBody(DEEP, false)).toEqual({ result: DEEP });
    expect(functionResponseBody(DEEP, true)).toEqual({ error: DEEP });
    expect(() => JSON.stringify(FORMATS.gemini.buildRequest(withArguments('{}', DEEP), 'up'))).not.toThrow();
    expect(functionResponseBody('{"a":{"b":1}}', false)).toEqual({ a: { b: 1 } });
  });

  it("answers: a model's over-deep arguments count as not an object, the way each format already treats malformed ones", () => {
    expect(toolInputObject(DEEP)).toEqual({});
    expect(argsObject(DEEP)).toBeUndefined();
    expect(argumentsObject(DEEP)).toBeUndefined();
    expect(argumentsObject('{"a":[1]}')).toEqual({ a: [1] });
    const answer: CanonicalResponse = {
      id: 'r',
      model: 'm',
      finishReason: 'tool_calls',
      content: [{ type: 'tool_call', id: 'c', name: 'f', arguments: DEEP }],
    };
    const ctx = { id: 'x', model: 'm', created: 0 };
    expect(() => JSON.stringify(FORMATS.anthropic.renderResponse(answer, ctx))).not.toThrow();
    expect(() => JSON.stringify(FORMATS.gemini.renderResponse(answer, ctx))).not.toThrow();
    // Ollama has no shape for arguments that are not an object: a 502, as for cut-off ones.
    expect(() => FORMATS.ollama.renderResponse(answer, ctx)).toThrow(GatewayError);
  });
});
