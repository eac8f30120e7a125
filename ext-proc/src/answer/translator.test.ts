import { describe, expect, it } from 'vitest';
import { FORMATS } from '../providers/formats.js';
import { AnswerTranslator } from './translator.js';

describe('AnswerTranslator', () => {
  it('re-encodes an Ollama NDJSON stream as OpenAI SSE chunk by chunk, usage included', () => {
    const t = new AnswerTranslator(FORMATS.openai, FORMATS.ollama, { stream: true, callerModel: 'llama3.2', includeUsage: true });
    expect(t.contentType()).toBe('text/event-stream');
    const first = t
      .chunk(Buffer.from('{"model":"llama3.2","created_at":"2026-01-01T00:00:00Z","message":{"role":"assistant","content":"Hel'), false)!
      .toString();
    expect(first).not.toContain('Hel'); // half a line is held until it completes
    const second = t.chunk(Buffer.from('lo"},"done":false}\n'), false)!.toString();
    expect(second).toContain('"content":"Hello"');
    const last = t
      .chunk(
        Buffer.from(
          '{"model":"llama3.2","created_at":"2026-01-01T00:00:01Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":9,"eval_count":1}\n',
        ),
        true,
      )!
      .toString();
    expect(last).toContain('"finish_reason":"stop"');
    expect(last).toContain('"prompt_tokens":9');
    expect(last.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(t.usage).toMatchObject({ inputTokens: 9, outputTokens: 1 });
    expect(t.finished).toBe(true);
  });

  it('ends a cut stream well-formed for the caller and keeps the usage seen', () => {
    const t = new AnswerTranslator(FORMATS.anthropic, FORMATS.openai, { stream: true, callerModel: 'gpt-4o-mini', includeUsage: false });
    t.chunk(
      Buffer.from(
        'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}\n\n',
      ),
      false,
    );
    const tail = t.chunk(Buffer.alloc(0), true)!.toString();
    expect(t.finished).toBe(false);
    expect(tail).toContain('event: error');
  });

  it('passes same-API answers unchanged but still reads their usage', () => {
    const t = new AnswerTranslator(FORMATS.anthropic, FORMATS.anthropic, { stream: false, callerModel: 'claude-haiku-4-5', includeUsage: false });
    expect(t.contentType()).toBeUndefined();
    const body = {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-haiku-4-5',
      content: [{ type: 'text', text: 'ok' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 5, output_tokens: 1 },
    };
    expect(t.whole(Buffer.from(JSON.stringify(body)))).toBeUndefined();
    expect(t.usage).toMatchObject({ inputTokens: 5, outputTokens: 1 });
  });

  it('refuses an unreadable answer (a 502 upstream_invalid_response), same API or not', () => {
    for (const [caller, backend] of [
      [FORMATS.anthropic, FORMATS.anthropic],
      [FORMATS.gemini, FORMATS.gemini],
      [FORMATS.ollama, FORMATS.ollama],
      [FORMATS.openai, FORMATS.anthropic],
    ] as const) {
      for (const body of ['not json', '', '{"id":"msg_1","type":"mess', '<html><title>502</title></html>']) {
        const t = new AnswerTranslator(caller, backend, { stream: false, callerModel: 'm', includeUsage: false });
        let err: unknown;
        try {
          t.whole(Buffer.from(body));
        } catch (e) {
          err = e;
        }
        expect(err, `${backend.id} → ${caller.id}: ${JSON.stringify(body)}`).toMatchObject({ status: 502, opts: { code: 'upstream_invalid_response' } });
        expect(t.usage).toBeUndefined();
      }
    }
  });
});

/** An Anthropic stream, its events whole. */
const ANTHROPIC_STREAM = [
  'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":5,"output_tokens":1}}}\n\n',
  'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}\n\n',
  'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
  'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}\n\n',
  'event: message_stop\ndata: {"type":"message_stop"}\n\n',
];

describe('AnswerTranslator between ends of the same API: the stream is guarded', () => {
  const same = () => new AnswerTranslator(FORMATS.anthropic, FORMATS.anthropic, { stream: true, callerModel: 'claude-haiku-4-5', includeUsage: false });

  it('a whole stream passes unchanged, chunk for chunk, and its usage is read', () => {
    const t = same();
    expect(t.contentType()).toBeUndefined();
    for (const [i, e] of ANTHROPIC_STREAM.entries()) expect(t.chunk(Buffer.from(e), i === ANTHROPIC_STREAM.length - 1)).toBeUndefined();
    expect(t.usage).toMatchObject({ inputTokens: 5, outputTokens: 2 });
  });

  it('a stream cut short ends with an error event in the API (its unfinished event held back)', () => {
    const t = same();
    const text = ANTHROPIC_STREAM.slice(0, 3).join('') + ANTHROPIC_STREAM[3]!.slice(0, 20);
    const out = t.chunk(Buffer.from(text), true)!.toString();
    expect(out.startsWith(ANTHROPIC_STREAM.slice(0, 3).join(''))).toBe(true);
    expect(out).not.toContain('content_block_stop');
    expect(
      out.endsWith(
        'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"The upstream provider stream ended before the answer was complete."}}\n\n',
      ),
    ).toBe(true);
    // Not an answer to keep (the response cache skips it).
    expect(t.failed).toBe(true);
  });

  it('a corrupt event ends the stream with an error event, and nothing after it goes on', () => {
    const t = same();
    expect(t.chunk(Buffer.from(ANTHROPIC_STREAM[0]!), false)).toBeUndefined();
    const out = t.chunk(Buffer.from('event: content_block_delta\ndata: {"choices":[{"delta":{"content":"gar\n\n'), false)!.toString();
    expect(out).toMatch(
      /^event: error\ndata: \{"type":"error","error":\{"type":"api_error","message":"The upstream provider sent a stream event the gateway could not read\."\}\}\n\n$/,
    );
    expect(t.chunk(Buffer.from(ANTHROPIC_STREAM.slice(1).join('')), true)!.length).toBe(0);
  });

  it('an empty stream is an error event', () => {
    for (const [api, line] of [
      ['gemini', /^data: \{"error":\{"code":502,.*"status":"UNAVAILABLE"\}\}\r\n\r\n$/],
      ['ollama', /^\{"error":"The upstream provider stream ended before the answer was complete\."\}\n$/],
      ['anthropic', /^event: error\n/],
    ] as const) {
      const t = new AnswerTranslator(FORMATS[api], FORMATS[api], { stream: true, callerModel: 'm', includeUsage: false });
      expect(t.chunk(Buffer.alloc(0), true)!.toString(), api).toMatch(line);
    }
  });
});
