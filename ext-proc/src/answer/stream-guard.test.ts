import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FORMATS } from '../providers/formats.js';
import type { FormatId } from '../providers/canonical/types.js';
import { OpenAIPassthrough } from './openai-passthrough.js';
import { STREAM_CUT, StreamGuard, UNREADABLE_EVENT } from './stream-guard.js';
import { errorEventFor } from './unreadable.js';

const fixture = (path: string): string => readFileSync(new URL(`../providers/${path}`, import.meta.url), 'utf8');

/** A whole stream of each API, as its provider sends it. */
const STREAMS: Record<FormatId, string> = {
  openai: fixture('openai/fixtures/chat-stream.sse'),
  anthropic: fixture('anthropic/fixtures/messages-stream.sse'),
  gemini: fixture('gemini/fixtures/stream-text.sse'),
  ollama: fixture('ollama/fixtures/chat-stream.ndjson'),
};

function guard(api: FormatId): StreamGuard {
  const f = FORMATS[api];
  return new StreamGuard(f.streamFraming, f.checkStreamEvent, errorEventFor(f, 'm'));
}

/** What the caller receives when the stream arrives cut every `size` bytes. */
function run(g: StreamGuard, bytes: Buffer, size: number): string {
  let out = '';
  for (let i = 0; i < bytes.length || i === 0; i += size) {
    const chunk = bytes.subarray(i, i + size);
    const last = i + size >= bytes.length;
    const r = g.push(chunk, last);
    out += (r ?? chunk).toString('utf8');
  }
  return out;
}

describe('StreamGuard', () => {
  for (const api of ['openai', 'anthropic', 'gemini', 'ollama'] as const) {
    describe(api, () => {
      const whole = Buffer.from(STREAMS[api], 'utf8');
      const errorEvent = (message: string) => errorEventFor(FORMATS[api], 'm')(message);

      it('a whole stream reaches the caller byte for byte, however it is cut', () => {
        for (const size of [1, 2, 7, 64, whole.length]) {
          const g = guard(api);
          expect(run(g, whole, size), `cut every ${size}`).toBe(STREAMS[api]);
          expect(g.ended).toBe(true);
          expect(g.failed).toBe(false);
        }
      });

      it('chunks of whole events pass as they came, with no copy', () => {
        const g = guard(api);
        expect(g.push(whole, true)).toBeUndefined();
      });

      it('a stream that stops early (inside an event) ends with an error event, the unfinished event held back', () => {
        const half = whole.subarray(0, Math.floor(whole.length / 2));
        for (const size of [1, 13, half.length]) {
          const out = run(guard(api), half, size);
          expect(out.endsWith(errorEvent(STREAM_CUT)), `cut every ${size}`).toBe(true);
          const sent = out.slice(0, out.length - errorEvent(STREAM_CUT).length);
          expect(STREAMS[api].startsWith(sent)).toBe(true);
          // Only whole events went on.
          expect(api === 'ollama' ? sent === '' || sent.endsWith('\n') : sent === '' || /\r?\n\r?\n$/.test(sent)).toBe(true);
        }
      });

      it('an empty stream is an error event', () => {
        expect(guard(api).push(Buffer.alloc(0), true)!.toString()).toBe(errorEvent(STREAM_CUT));
      });

      it('a corrupt event ends the stream with an error event in its place, and drops the rest', () => {
        const nl = api === 'ollama' ? '\n' : api === 'gemini' ? '\r\n\r\n' : '\n\n';
        const first = STREAMS[api].indexOf(nl) + nl.length;
        const bad = api === 'ollama' ? '{"message":{"content":"gar\n' : `data: {"choices":[{"delta":{"content":"gar${nl}`;
        const g = guard(api);
        const out = run(g, Buffer.from(STREAMS[api].slice(0, first) + bad + STREAMS[api].slice(first)), 5);
        expect(out).toBe(STREAMS[api].slice(0, first) + errorEvent(UNREADABLE_EVENT));
        expect(g.failed).toBe(true);
      });

      it('an HTML page is not a stream: none of it reaches the caller', () => {
        const page = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>nginx</body>\r\n</html>\r\n';
        expect([errorEvent(UNREADABLE_EVENT), errorEvent(STREAM_CUT)]).toContain(guard(api).push(Buffer.from(page), true)!.toString());
        // Framed as the API frames its events, it is a corrupt one.
        const framed = api === 'ollama' ? '<html><body>nginx</body></html>\n' : '<html><body>nginx</body></html>\n\n';
        expect(guard(api).push(Buffer.from(framed), false)!.toString()).toBe(errorEvent(UNREADABLE_EVENT));
      });
    });
  }

  it("a provider's own error event in the stream is its end: passed on, nothing added", () => {
    const g = guard('anthropic');
    const start = STREAMS.anthropic.slice(0, STREAMS.anthropic.indexOf('\n\n') + 2);
    const error = 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
    expect(run(g, Buffer.from(start + error), 9)).toBe(start + error);
    expect(g.ended).toBe(true);
  });

  it('a last event without its blank line is whole if it checks out', () => {
    const g = guard('openai');
    const text = STREAMS.openai.trimEnd();
    expect(run(g, Buffer.from(text), 4096)).toBe(text);
  });

  it('multi-byte characters cut between chunks reach the caller whole', () => {
    const text = STREAMS.ollama.replace('Hello', 'Olá 😀 ñ');
    const bytes = Buffer.from(text, 'utf8');
    for (const size of [1, 2, 3]) expect(run(guard('ollama'), bytes, size)).toBe(text);
  });
});

describe('OpenAIPassthrough', () => {
  const usageStream = fixture('openai/fixtures/chat-stream-usage.sse');

  it('hides the usage chunk the gateway asked for, and still checks the stream', () => {
    const p = new OpenAIPassthrough({ stream: true, callerWantsUsage: false, callerModel: 'gpt-4o-mini' });
    const out = run((p as unknown as { guard: StreamGuard }).guard, Buffer.from(usageStream), 10);
    expect(out).not.toContain('"choices":[]');
    expect(out.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(p.usage).toBeDefined();
  });

  it('a cut stream ends with an OpenAI error line, not [DONE]', () => {
    const p = new OpenAIPassthrough({ stream: true, callerWantsUsage: true, callerModel: 'gpt-4o-mini' });
    const out = p.chunk(Buffer.from(usageStream.slice(0, 200)), true)!.toString();
    const last = out.trimEnd().split('\n\n').at(-1)!;
    expect(JSON.parse(last.slice('data: '.length))).toMatchObject({ error: { type: 'server_error', message: STREAM_CUT } });
  });

  const answer = fixture('openai/fixtures/chat-response.json');
  it('a whole answer is read for its usage; one that is not a chat completion is refused', () => {
    const p = new OpenAIPassthrough({ stream: false, callerWantsUsage: false });
    expect(p.whole(Buffer.from(answer))).toBeUndefined();
    expect(p.usage).toMatchObject({ inputTokens: expect.any(Number) });
    const noUsage = JSON.stringify({ ...JSON.parse(answer), usage: undefined });
    expect(() => new OpenAIPassthrough({ stream: false, callerWantsUsage: false }).whole(Buffer.from(noUsage))).not.toThrow();
    for (const bad of [answer.slice(0, answer.length / 2), '', '<html><body>502</body></html>', '{"id": \u0000 ]]}{ not json', '{"object":"list"}']) {
      expect(() => new OpenAIPassthrough({ stream: false, callerWantsUsage: false }).whole(Buffer.from(bad)), JSON.stringify(bad)).toThrow(/could not read/);
    }
  });
});
