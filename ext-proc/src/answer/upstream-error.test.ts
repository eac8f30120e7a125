import { describe, expect, it } from 'vitest';
import { FORMATS } from '../providers/formats.js';
import { CREDENTIAL_REJECTED, errorAnswer, upstreamErrorForCaller } from './upstream-error.js';

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
  it("a provider's 500 is upstream trouble: a 502, its body kept between ends of the same API that state no status", () => {
    const openai500 = JSON.stringify({
      error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null },
    });
    const same = upstreamErrorForCaller(FORMATS.openai, FORMATS.openai, 500, openai500);
    expect(same).toMatchObject({ status: 502, body: undefined });
    // The provider's body goes on; only the status changes.
    expect(errorAnswer(same, 500)).toEqual({ set: [[':status', '502']], body: undefined });
    for (const [api, body] of [
      ['anthropic', JSON.stringify({ type: 'error', error: { type: 'api_error', message: 'Internal server error' } })],
      ['ollama', JSON.stringify({ error: 'llama runner process has terminated' })],
    ] as const) {
      expect(upstreamErrorForCaller(FORMATS[api], FORMATS[api], 500, body)).toMatchObject({ status: 502, body: undefined });
    }
    // Another API's 500: re-rendered in the caller's, as a 502.
    const cross = upstreamErrorForCaller(FORMATS.anthropic, FORMATS.openai, 500, openai500);
    expect(cross.status).toBe(502);
    expect(JSON.parse(cross.body!)).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    // 502, 503 and 504 stay as they are.
    for (const status of [502, 503, 504]) expect(upstreamErrorForCaller(FORMATS.openai, FORMATS.openai, status, openai500).status).toBe(status);
  });

  it('a Gemini body states its status: re-rendered when the status changes, so code and status agree', () => {
    const gemini500 = JSON.stringify({ error: { code: 500, message: 'An internal error has occurred.', status: 'INTERNAL' } });
    const out = upstreamErrorForCaller(FORMATS.gemini, FORMATS.gemini, 500, gemini500);
    expect(out.status).toBe(502);
    expect(JSON.parse(out.body!)).toMatchObject({
      error: { code: 502, status: 'UNAVAILABLE', message: expect.stringContaining('An internal error has occurred.') },
    });
    // A status outside the table (Envoy's or a server's 431) is answered with its kind's, which the body states too.
    for (const caller of ['gemini', 'openai', 'anthropic', 'ollama'] as const) {
      const odd = upstreamErrorForCaller(FORMATS[caller], FORMATS.gemini, 431, '');
      expect(odd.status, caller).toBe(400);
      if (caller === 'gemini') expect(JSON.parse(odd.body!).error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    }
  });

  it("text or an HTML page is never taken for Ollama's own error: it is re-rendered, its title as the message", () => {
    const html =
      '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>';
    const out = upstreamErrorForCaller(FORMATS.ollama, FORMATS.ollama, 400, html);
    expect(out.status).toBe(400);
    expect(JSON.parse(out.body!)).toEqual({ error: 'Upstream provider error (HTTP 400): 502 Bad Gateway' });
    const timeout = upstreamErrorForCaller(FORMATS.ollama, FORMATS.ollama, 504, 'upstream request timeout');
    expect(timeout.status).toBe(504);
    expect(JSON.parse(timeout.body!)).toEqual({ error: 'Upstream provider error (HTTP 504): upstream request timeout' });
  });
});
