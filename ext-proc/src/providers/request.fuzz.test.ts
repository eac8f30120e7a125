/*
 * Property: every inbound request parser, given any JSON value a caller can send, either returns
 * a canonical request or throws a 4xx GatewayError (which each API renders as its own 400), and
 * a request it returns can be built for every backend with, again, at most a 4xx refusal. A
 * TypeError or RangeError from here would be a 500 for the caller.
 *
 * Bodies reach the parsers after the depth check in pipeline/chat.ts, so the generated values
 * stay within MAX_JSON_DEPTH (fast-check's JSON is a few levels deep).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonFixtures, mutated, onlyGatewayErrors, runs, wildJson } from '../../../test/helpers/fuzz.js';
import type { CanonicalRequest, FormatId } from './canonical/types.js';
import { FORMATS } from './formats.js';

const FIXTURES: Record<FormatId, unknown[]> = {
  openai: jsonFixtures(new URL('./openai/fixtures/', import.meta.url), 'chat-request'),
  anthropic: jsonFixtures(new URL('./anthropic/fixtures/', import.meta.url), 'messages-request'),
  gemini: jsonFixtures(new URL('./gemini/fixtures/', import.meta.url), 'request'),
  ollama: jsonFixtures(new URL('./ollama/fixtures/', import.meta.url), 'chat-request'),
};

const INBOUND = { pathModel: 'gemini-2.5-flash', stream: false };

/** The parse, and on success every backend's build: what the request phase does with a body. */
function parseAndBuild(format: FormatId, body: unknown): CanonicalRequest | undefined {
  const chat = onlyGatewayErrors(() => FORMATS[format].parseRequest(body, INBOUND));
  if (!chat) return undefined;
  expect(typeof chat.model).toBe('string');
  expect(Array.isArray(chat.messages)).toBe(true);
  // The canonical request is what the cache key, the classifier and the route context serialise.
  JSON.stringify(chat);
  for (const backend of Object.values(FORMATS)) {
    const built = onlyGatewayErrors(() => backend.buildRequest(chat, 'upstream-model'));
    if (built) JSON.stringify(built);
  }
  return chat;
}

describe('request parsers under arbitrary JSON', () => {
  for (const format of Object.keys(FORMATS) as FormatId[]) {
    it(`${format}: any JSON value is a request or a 4xx`, () => {
      expect(FIXTURES[format].length).toBeGreaterThan(0);
      fc.assert(
        fc.property(wildJson, (body) => {
          parseAndBuild(format, body);
        }),
        runs(400),
      );
    });

    it(`${format}: valid requests with wrong types, odd numbers and strange strings are a request or a 4xx`, () => {
      let accepted = 0;
      fc.assert(
        fc.property(mutated(FIXTURES[format]), (body) => {
          if (parseAndBuild(format, body)) accepted++;
        }),
        runs(600),
      );
      // The mutations must leave some requests valid, or the build half of the property never runs.
      expect(accepted).toBeGreaterThan(30);
    });

    it(`${format}: the untouched fixtures parse`, () => {
      for (const body of FIXTURES[format]) expect(parseAndBuild(format, body)).toBeDefined();
    });
  }
});
