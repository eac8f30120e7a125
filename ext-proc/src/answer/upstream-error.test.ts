import { describe, expect, it } from 'vitest';
import { FORMATS } from '../providers/formats.js';
import { CREDENTIAL_REJECTED, upstreamErrorForCaller } from './upstream-error.js';

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
    const gemini = JSON.stringify({
      error: {
        code: 400,
        message: 'API key not valid. Please pass a valid API key. sk-secret',
        status: 'INVALID_ARGUMENT',
        details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }],
      },
    });
    const out = upstreamErrorForCaller(FORMATS.ollama, FORMATS.gemini, 400, gemini);
    expect(out.status).toBe(502);
    expect(out.body).not.toContain('sk-secret');
    expect(JSON.parse(out.body!)).toHaveProperty('error');
    expect(upstreamErrorForCaller(FORMATS.openai, FORMATS.openai, 401, '{"error":{"message":"Incorrect API key sk-abc"}}').status).toBe(502);
  });

  it("what may be logged of a refused credential is a fixed sentence, never the provider's text", () => {
    const text = '{"error":{"message":"Incorrect API key provided: sk-proj-****wxyz"}}';
    for (const status of [401, 403]) {
      const out = upstreamErrorForCaller(FORMATS.anthropic, FORMATS.openai, status, text);
      expect(out.logDetail).toBe(CREDENTIAL_REJECTED);
    }
    expect(upstreamErrorForCaller(FORMATS.openai, FORMATS.openai, 429, '{"error":{"message":"Slow down"}}').logDetail).toBe('Slow down');
  });

  it('a same-API provider error passes through unchanged; plain text from Envoy is wrapped', () => {
    const openaiErr = JSON.stringify({ error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } });
    expect(upstreamErrorForCaller(FORMATS.openai, FORMATS.openai, 429, openaiErr)).toMatchObject({ status: 429, body: undefined });
    const wrapped = upstreamErrorForCaller(FORMATS.gemini, FORMATS.gemini, 503, 'upstream connect error or disconnect/reset before headers');
    expect(wrapped.status).toBe(503);
    expect(JSON.parse(wrapped.body!)).toMatchObject({ error: { code: 503, status: 'UNAVAILABLE' } });
  });
});
