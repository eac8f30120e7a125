import { describe, expect, it } from 'vitest';
import { FORMATS } from '../providers/formats.js';
import { AnswerTranslator, upstreamErrorForCaller } from './answer-translator.js';

describe('upstreamErrorForCaller', () => {
  it("Anthropic's 529 overloaded becomes a 503 in OpenAI's error shape", () => {
    const body = JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    const out = upstreamErrorForCaller(FORMATS.openai, FORMATS.anthropic, 529, body);
    expect(out.status).toBe(503);
    expect(JSON.parse(out.body!)).toMatchObject({ error: { type: 'server_error', code: 'upstream_error' } });
    expect(JSON.parse(out.body!).error.message).toContain('Overloaded');
  });

  it("a Gemini 429 becomes Anthropic's rate_limit_error, status kept", () => {
    const body = JSON.stringify({ error: { code: 429, message: 'Resource has been exhausted', status: 'RESOURCE_EXHAUSTED' } });
    const out = upstreamErrorForCaller(FORMATS.anthropic, FORMATS.gemini, 429, body);
    expect(out.status).toBe(429);
    expect(JSON.parse(out.body!)).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
  });

  it("a provider refusing the gateway's own key is a 502, whatever the API says, and its text is not passed on", () => {
    const gemini = JSON.stringify({ error: { code: 400, message: 'API key not valid. Please pass a valid API key. sk-secret', status: 'INVALID_ARGUMENT', details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }] } });
    const out = upstreamErrorForCaller(FORMATS.ollama, FORMATS.gemini, 400, gemini);
    expect(out.status).toBe(502);
    expect(out.body).not.toContain('sk-secret');
    expect(JSON.parse(out.body!)).toHaveProperty('error');
    expect(upstreamErrorForCaller(FORMATS.openai, FORMATS.openai, 401, '{"error":{"message":"Incorrect API key sk-abc"}}').status).toBe(502);
  });

  it('a same-API provider error passes through unchanged; plain text from Envoy is wrapped', () => {
    const openaiErr = JSON.stringify({ error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } });
    expect(upstreamErrorForCaller(FORMATS.openai, FORMATS.openai, 429, openaiErr)).toMatchObject({ status: 429, body: undefined });
    const wrapped = upstreamErrorForCaller(FORMATS.gemini, FORMATS.gemini, 503, 'upstream connect error or disconnect/reset before headers');
    expect(wrapped.status).toBe(503);
    expect(JSON.parse(wrapped.body!)).toMatchObject({ error: { code: 503, status: 'UNAVAILABLE' } });
  });
});

describe('AnswerTranslator', () => {
  it('re-encodes an Ollama NDJSON stream as OpenAI SSE chunk by chunk, usage included', () => {
    const t = new AnswerTranslator(FORMATS.openai, FORMATS.ollama, { stream: true, callerModel: 'llama3.2', includeUsage: true });
    expect(t.contentType()).toBe('text/event-stream');
    const first = t.chunk(Buffer.from('{"model":"llama3.2","created_at":"2026-01-01T00:00:00Z","message":{"role":"assistant","content":"Hel'), false)!.toString();
    expect(first).not.toContain('Hel'); // half a line is held until it completes
    const second = t.chunk(Buffer.from('lo"},"done":false}\n'), false)!.toString();
    expect(second).toContain('"content":"Hello"');
    const last = t
      .chunk(Buffer.from('{"model":"llama3.2","created_at":"2026-01-01T00:00:01Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":9,"eval_count":1}\n'), true)!
      .toString();
    expect(last).toContain('"finish_reason":"stop"');
    expect(last).toContain('"prompt_tokens":9');
    expect(last.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(t.usage).toMatchObject({ inputTokens: 9, outputTokens: 1 });
    expect(t.finished).toBe(true);
  });

  it('ends a cut stream well-formed for the caller and keeps the usage seen', () => {
    const t = new AnswerTranslator(FORMATS.anthropic, FORMATS.openai, { stream: true, callerModel: 'gpt-4o-mini', includeUsage: false });
    t.chunk(Buffer.from('data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}\n\n'), false);
    const tail = t.chunk(Buffer.alloc(0), true)!.toString();
    expect(t.finished).toBe(false);
    expect(tail).toContain('event: error');
  });

  it('passes same-API answers unchanged but still reads their usage', () => {
    const t = new AnswerTranslator(FORMATS.anthropic, FORMATS.anthropic, { stream: false, callerModel: 'claude-haiku-4-5', includeUsage: false });
    expect(t.contentType()).toBeUndefined();
    const body = { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-haiku-4-5', content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 5, output_tokens: 1 } };
    expect(t.whole(Buffer.from(JSON.stringify(body)))).toEqual({ out: undefined, readable: true });
    expect(t.usage).toMatchObject({ inputTokens: 5, outputTokens: 1 });
  });
});
