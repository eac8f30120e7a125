import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import { ollamaFormat } from './index.js';

describe('ollamaFormat', () => {
  it('is the ollama format, streaming NDJSON', () => {
    expect(ollamaFormat.id).toBe('ollama');
    expect(ollamaFormat.streamContentType).toBe('application/x-ndjson');
  });

  it('upstreamCall: /api/chat under the base path, no auth header without a credential', () => {
    expect(ollamaFormat.upstreamCall({ basePath: '', upstreamModel: 'llama3.2', stream: true, credential: undefined })).toEqual({
      path: '/api/chat',
      headers: [],
    });
    expect(ollamaFormat.upstreamCall({ basePath: '/gpu-pool/a', upstreamModel: 'llama3.2', stream: false, credential: '' })).toEqual({
      path: '/gpu-pool/a/api/chat',
      headers: [],
    });
  });

  it('upstreamCall: a credential goes as a bearer token (for an authenticating proxy)', () => {
    expect(ollamaFormat.upstreamCall({ basePath: '/ollama', upstreamModel: 'm', stream: true, credential: 'secret-1' })).toEqual({
      path: '/ollama/api/chat',
      headers: [['authorization', 'Bearer secret-1']],
    });
  });

  it('parseRequest ignores the inbound context: Ollama has model and stream in the body', () => {
    const req = ollamaFormat.parseRequest({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }] }, { pathModel: 'other', stream: false });
    expect(req.model).toBe('llama3.2');
    expect(req.stream).toBe(true);
  });

  it('caller and backend sides are wired to the Ollama translators', () => {
    const req = ollamaFormat.parseRequest({ model: 'a', messages: [{ role: 'user', content: 'hi' }], stream: false }, {});
    expect(ollamaFormat.buildRequest(req, 'b')).toEqual({ model: 'b', messages: [{ role: 'user', content: 'hi' }], stream: false });
    const res = ollamaFormat.parseResponse({ model: 'b', message: { role: 'assistant', content: 'yo' }, done: true, done_reason: 'stop' });
    expect(ollamaFormat.renderResponse(res, { id: 'x', model: 'a', created: 0 })).toMatchObject({ model: 'a', message: { content: 'yo' }, done: true });
    expect(ollamaFormat.renderError(new GatewayError('unavailable', 'busy'))).toBe('{"error":"busy"}');
    expect(ollamaFormat.parseError('{"error":"busy"}')).toEqual({ message: 'busy' });
    const enc = ollamaFormat.createStreamEncoder({ id: 'x', model: 'a', created: 0, includeUsage: false });
    const dec = ollamaFormat.createStreamDecoder();
    const events = dec.push(Buffer.from(enc.encode([{ type: 'text', text: 'hi' }]) + enc.end(false)));
    expect(events.map((e) => e.type)).toEqual(['start', 'text', 'finish']);
  });
});
