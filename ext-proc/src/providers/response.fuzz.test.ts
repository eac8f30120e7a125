/*
 * Properties of the whole-answer translators and the error readers:
 * - a backend's answer that is not one (any JSON, a valid answer with random edits) is read or
 *   refused with a GatewayError (the answer translator turns it into a 502), never a TypeError;
 * - any canonical answer renders in every API, and that API's reader gets the same answer back;
 * - an error body of any shape is read or ignored, never thrown on.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { response } from '../../../test/helpers/fuzz-canonical.js';
import { jsonFixtures, mutated, onlyGatewayErrors, runs, wildJson, wildString } from '../../../test/helpers/fuzz.js';
import type { CanonicalResponse, FormatId } from './canonical/types.js';
import { FORMATS } from './formats.js';

const IDS = Object.keys(FORMATS) as FormatId[];

const ANSWERS: Record<FormatId, unknown[]> = {
  openai: jsonFixtures(new URL('./openai/fixtures/', import.meta.url), 'chat-response'),
  anthropic: jsonFixtures(new URL('./anthropic/fixtures/', import.meta.url), 'messages-response'),
  gemini: jsonFixtures(new URL('./gemini/fixtures/', import.meta.url), 'response'),
  ollama: jsonFixtures(new URL('./ollama/fixtures/', import.meta.url), 'chat-response'),
};

/** Answers whose tool arguments nest 10k deep (a model can write such arguments): far past what JSON.stringify can take. */
function deepAnswers(format: FormatId): unknown[] {
  const deep = JSON.parse(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`) as unknown;
  const bodies: Record<FormatId, unknown[]> = {
    openai: [
      { choices: [{ index: 0, message: { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: deep } }] } }] },
    ],
    anthropic: [
      {
        type: 'message',
        id: 'm',
        model: 'x',
        role: 'assistant',
        content: [{ type: 'tool_use', id: 't', name: 'f', input: deep }],
        stop_reason: 'tool_use',
        usage: { input_tokens: 1, output_tokens: 1 },
      },
    ],
    gemini: [{ candidates: [{ content: { parts: [{ functionCall: { name: 'f', args: deep } }] }, finishReason: 'STOP' }] }],
    ollama: [{ model: 'x', message: { role: 'assistant', content: '', tool_calls: [{ function: { name: 'f', arguments: deep } }] }, done: true }],
  };
  return bodies[format];
}

const CTX = { id: 'resp-fuzz', model: 'fuzz-model', created: 1_700_000_000 };

/** What an answer says: its text, its tool calls, its usage. */
function said(res: CanonicalResponse) {
  const text = res.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('');
  const calls = res.content.flatMap((p) => (p.type === 'tool_call' ? [{ name: p.name, args: JSON.parse(p.arguments) as unknown }] : []));
  return { text, calls, usage: res.usage && { input: res.usage.inputTokens, output: res.usage.outputTokens } };
}

function render(format: FormatId, res: CanonicalResponse): unknown {
  return JSON.parse(JSON.stringify(FORMATS[format].renderResponse(res, CTX)));
}

describe('answer readers and renderers', () => {
  for (const format of IDS) {
    it(`${format}: any JSON as a backend's answer is read or refused with a GatewayError`, () => {
      fc.assert(
        fc.property(fc.oneof(wildJson, mutated(ANSWERS[format]), fc.constantFrom(...deepAnswers(format))), (body) => {
          const res = onlyGatewayErrors(() => FORMATS[format].parseResponse(body), 400, 599);
          // What was read must render for any caller (the answer translator's next step).
          if (res) for (const caller of IDS) onlyGatewayErrors(() => JSON.stringify(FORMATS[caller].renderResponse(res, CTX)), 500, 599);
        }),
        runs(400),
      );
    });

    it(`${format}: any answer renders, and reads back as the same answer`, () => {
      fc.assert(
        fc.property(response, (res) => {
          const back = FORMATS[format].parseResponse(render(format, res));
          const expected = said(res);
          // Anthropic's usage fields are required: an answer without usage renders zeros (its README).
          if (format === 'anthropic') expected.usage ??= { input: 0, output: 0 };
          expect(said(back)).toEqual(expected);
          // Finish reasons do not all exist in every API, but a trip or two settles them. (Gemini
          // needs two: it reads only STOP with calls as tool_calls, so `error` with calls renders
          // as OTHER, reads as stop, renders as STOP and only then reads as tool_calls.)
          const twice = FORMATS[format].parseResponse(render(format, back));
          const thrice = FORMATS[format].parseResponse(render(format, twice));
          expect(thrice.finishReason).toBe(twice.finishReason);
        }),
        runs(300),
      );
    });

    it(`${format}: an error body of any shape is read or ignored`, () => {
      const text = fc.oneof(
        wildString,
        wildJson.map((v) => JSON.stringify(v)),
        wildJson.map((v) => JSON.stringify({ error: v })),
      );
      fc.assert(
        fc.property(text, (body) => {
          const e = FORMATS[format].parseError(body);
          if (e?.message !== undefined) expect(typeof e.message).toBe('string');
          if (e?.type !== undefined) expect(typeof e.type).toBe('string');
        }),
        runs(400),
      );
    });
  }
});
