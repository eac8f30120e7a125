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

  it('passes an unreadable same-API answer unchanged (usage unknown) and refuses to translate one', () => {
    const same = new AnswerTranslator(FORMATS.anthropic, FORMATS.anthropic, { stream: false, callerModel: 'm', includeUsage: false });
    expect(same.whole(Buffer.from('not json'))).toBeUndefined();
    expect(same.usage).toBeUndefined();
    const other = new AnswerTranslator(FORMATS.openai, FORMATS.anthropic, { stream: false, callerModel: 'm', includeUsage: false });
    expect(() => other.whole(Buffer.from('not json'))).toThrow(/could not read/);
  });
});
