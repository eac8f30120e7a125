import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import { geminiFormat, geminiUpstreamCall } from './index.js';

describe('geminiUpstreamCall', () => {
  it('puts model and method in the path and the key in x-goog-api-key', () => {
    expect(geminiUpstreamCall({ basePath: '/v1beta', upstreamModel: 'gemini-2.5-flash', stream: false, credential: 'AIza-key' })).toEqual({
      path: '/v1beta/models/gemini-2.5-flash:generateContent',
      headers: [['x-goog-api-key', 'AIza-key']],
    });
    expect(geminiUpstreamCall({ basePath: '', upstreamModel: 'gemini-2.5-flash', stream: true, credential: undefined })).toEqual({
      path: '/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
      headers: [],
    });
  });

  it('escapes what a path segment cannot hold, keeps the slashes of tuned-model names', () => {
    expect(geminiUpstreamCall({ basePath: '/v1', upstreamModel: 'tuned/my model?', stream: false, credential: 'k' }).path).toBe(
      '/v1/models/tuned/my%20model%3F:generateContent',
    );
  });
});

describe('geminiFormat', () => {
  it('is the gemini wire format with SSE streams', () => {
    expect(geminiFormat.id).toBe('gemini');
    expect(geminiFormat.streamContentType).toBe('text/event-stream');
  });

  it('a Gemini request translated through the format: parse, build, answer, render', () => {
    const canonical = geminiFormat.parseRequest({ contents: [{ parts: [{ text: 'Hi' }] }] }, { pathModel: 'gemini-2.5-flash', stream: false });
    expect(geminiFormat.buildRequest(canonical, 'gemini-2.5-flash-001')).toEqual({ contents: [{ role: 'user', parts: [{ text: 'Hi' }] }] });
    const answer = geminiFormat.parseResponse({ candidates: [{ content: { parts: [{ text: 'Hello' }], role: 'model' }, finishReason: 'STOP' }] });
    expect(geminiFormat.renderResponse(answer, { id: 'i', model: 'gemini-2.5-flash', created: 0 })).toMatchObject({
      candidates: [{ content: { parts: [{ text: 'Hello' }] } }],
    });
  });

  it('errors render and parse in Google’s shape', () => {
    const text = geminiFormat.renderError(new GatewayError('not_found', 'models/x is not found'));
    expect(geminiFormat.parseError(text)).toEqual({ message: 'models/x is not found', type: 'NOT_FOUND', status: 404 });
  });

  it('a fresh decoder and encoder per stream', () => {
    expect(geminiFormat.createStreamDecoder()).not.toBe(geminiFormat.createStreamDecoder());
    const ctx = { id: 'a', model: 'b', created: 0, includeUsage: false };
    expect(geminiFormat.createStreamEncoder(ctx)).not.toBe(geminiFormat.createStreamEncoder(ctx));
  });
});
