/*
 * Properties of the OpenAI same-API path, where the gateway reads an answer without translating
 * it: the stream tap (usage, and the usage chunk removed when only the gateway asked for it) gives
 * the same bytes and the same usage however the stream is split, and the usage reader of a whole
 * answer finds the answer's own usage wherever the field sits.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { streamEvents, usage } from '../../../../test/helpers/fuzz-canonical.js';
import { cuts, runs, splitAt, wildJson, wildString } from '../../../../test/helpers/fuzz.js';
import { OpenAIStreamEncoder } from './stream-translate.js';
import { OpenAIStreamTap } from './stream.js';
import { toOpenAIUsage } from './usage.js';
import { extractUsageObject } from './usage-slice.js';

const FIXTURES = readdirSync(new URL('./fixtures/', import.meta.url))
  .filter((n) => n.endsWith('.sse'))
  .map((n) => readFileSync(new URL(`./fixtures/${n}`, import.meta.url)));

/** An OpenAI stream as a backend sends it when asked for usage, in LF or CRLF framing. */
const stream = fc
  .tuple(
    fc.oneof(
      fc.constantFrom(...FIXTURES),
      streamEvents.map((events) => {
        const e = new OpenAIStreamEncoder({ id: 'chatcmpl-fuzz', model: 'gpt-fuzz', created: 1, includeUsage: true });
        return Buffer.from(e.encode(events) + e.end(false), 'utf8');
      }),
    ),
    fc.boolean(),
  )
  .map(([bytes, crlf]) => (crlf ? Buffer.from(bytes.toString('utf8').replace(/\n/g, '\r\n'), 'utf8') : bytes));

function tap(hide: boolean, chunks: Buffer[]) {
  const t = new OpenAIStreamTap(hide);
  const out: Buffer[] = [];
  chunks.forEach((c, i) => {
    out.push(t.push(c, i === chunks.length - 1) ?? c);
  });
  return { bytes: Buffer.concat(out).toString('utf8'), usage: t.usage, events: t.events };
}

describe('OpenAIStreamTap', () => {
  it('passes, hides and meters the same however the stream is split', () => {
    fc.assert(
      fc.property(stream, cuts, fc.boolean(), (bytes, at, hide) => {
        expect(tap(hide, splitAt(bytes, at))).toEqual(tap(hide, [bytes]));
      }),
      runs(300),
    );
  });

  it('hiding removes exactly the usage-only chunk', () => {
    fc.assert(
      fc.property(stream, (bytes) => {
        const shown = tap(false, [bytes]);
        const hidden = tap(true, [bytes]);
        expect(hidden.usage).toEqual(shown.usage);
        const events = (s: string) => s.split(/\r?\n\r?\n/).filter((e) => e !== '');
        const removed = events(shown.bytes).filter((e) => !events(hidden.bytes).includes(e));
        expect(removed.length).toBe(shown.usage ? 1 : 0);
        for (const e of removed) expect(e).toMatch(/"choices":\[\]/);
      }),
      runs(200),
    );
  });
});

describe('extractUsageObject', () => {
  const completion = fc.record({
    before: fc.dictionary(fc.string({ maxLength: 6 }), wildJson, { maxKeys: 3 }),
    usage: usage.map(toOpenAIUsage),
    after: fc.dictionary(fc.string({ maxLength: 6 }), wildJson, { maxKeys: 3 }),
    nestedUsage: fc.option(wildJson, { nil: undefined }),
    text: wildString,
    indent: fc.constantFrom(0, 2),
  });

  it("finds the answer's own usage wherever it sits, whatever else the answer holds", () => {
    fc.assert(
      fc.property(completion, (c) => {
        const { usage: u, before, after, nestedUsage, text, indent } = c;
        // A later field may itself hold a `usage` key (a tool's arguments, a router's metadata).
        const tail = nestedUsage === undefined ? after : { ...after, zz_extra: { usage: nestedUsage } };
        const body = { id: 'x', choices: [{ index: 0, message: { role: 'assistant', content: text } }], ...before, usage: u, ...tail };
        expect(extractUsageObject(JSON.stringify(body, null, indent))).toEqual(JSON.parse(JSON.stringify(body)).usage);
      }),
      runs(400),
    );
  });

  it('a body that is not JSON throws a SyntaxError, the one error its caller expects', () => {
    fc.assert(
      fc.property(wildString, (s) => {
        try {
          extractUsageObject(s);
        } catch (e) {
          expect(e).toBeInstanceOf(SyntaxError);
        }
      }),
      runs(300),
    );
  });
});
